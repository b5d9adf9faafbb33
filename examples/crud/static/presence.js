// The board page's live "who is here" list: joins board:<id> over the ws plugin (the session
// cookie identifies the user) and renders presence as it changes. A note added by anyone
// reloads the notes.
(function () {
  "use strict";
  var list = document.getElementById("presence");
  var status = document.getElementById("presence-status");
  if (!list || !window.MegaSocket) return;

  function render(presences) {
    list.textContent = "";
    var keys = Object.keys(presences).sort();
    if (!keys.length) {
      var empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = list.dataset.empty;
      list.appendChild(empty);
    }
    keys.forEach(function (key) {
      var item = document.createElement("li");
      var metas = presences[key].metas || [];
      item.dataset.user = key;
      item.textContent = (metas[0] && metas[0].name) || key;
      if (metas.length > 1) item.textContent += " ×" + metas.length; // several tabs
      list.appendChild(item);
    });
  }

  var socket = new MegaSocket("/ws");
  var room = socket.channel(list.dataset.topic, {});
  room.onPresence(render);
  room.on("note", function () { window.location.reload(); });
  room.join().then(
    function () { status.textContent = ""; },
    function () { status.textContent = status.dataset.offline; }
  );
})();
