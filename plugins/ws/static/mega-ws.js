// mega-ws.js: the browser client of mega's ws plugin (served at <path>/client.js).
//
//   const socket = new MegaSocket("/ws", {token});            // token: optional bearer token
//   const room = socket.channel("room:1", {name: "Ada"});
//   room.on("said", (payload) => ...);
//   room.onPresence((list) => render(Object.keys(list)));       // {key: {metas: [...]}}
//   await room.join();                                          // resolves with the reply payload
//   await room.push("say", {text: "hi"});
//
// It reconnects with backoff (0.5 s doubling to 10 s) and re-joins its channels; presence is
// rebuilt from the state the server sends on every join.
(function (global) {
  "use strict";

  function wsUrl(path) {
    var url = new URL(path, global.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return url.toString();
  }

  // a token travels as a subprotocol ("bearer.<token>"), never in the URL, where access logs
  // would keep it
  function protocols(token) {
    return token ? ["mega.v1", "bearer." + token] : ["mega.v1"];
  }

  function Channel(socket, topic, params) {
    this.socket = socket;
    this.topic = topic;
    this.params = params || {};
    this.handlers = {};
    this.presence = {};
    this.presenceHandlers = [];
    this.joined = false;
  }

  Channel.prototype.on = function (event, callback) {
    (this.handlers[event] = this.handlers[event] || []).push(callback);
    return this;
  };

  Channel.prototype.onPresence = function (callback) {
    this.presenceHandlers.push(callback);
    return this;
  };

  Channel.prototype.join = function () {
    var self = this;
    return this.socket.send({type: "join", topic: this.topic, payload: this.params}).then(function (reply) {
      self.joined = true;
      return reply;
    });
  };

  Channel.prototype.leave = function () {
    this.joined = false;
    delete this.socket.channels[this.topic];
    return this.socket.send({type: "leave", topic: this.topic});
  };

  Channel.prototype.push = function (event, payload) {
    return this.socket.send({type: "event", topic: this.topic, event: event, payload: payload || {}});
  };

  Channel.prototype._presence = function (type, payload) {
    var state = this.presence;
    if (type === "presence_state") {
      state = this.presence = {};
      Object.keys(payload).forEach(function (key) { state[key] = {metas: payload[key].metas.slice()}; });
    } else if (type === "presence_diff") {
      Object.keys(payload.joins).forEach(function (key) {
        var metas = (state[key] = state[key] || {metas: []}).metas;
        payload.joins[key].metas.forEach(function (meta) {
          if (!metas.some(function (m) { return m.ref === meta.ref; })) metas.push(meta);
        });
      });
      Object.keys(payload.leaves).forEach(function (key) {
        if (!state[key]) return;
        var gone = payload.leaves[key].metas.map(function (m) { return m.ref; });
        state[key].metas = state[key].metas.filter(function (m) { return gone.indexOf(m.ref) < 0; });
        if (!state[key].metas.length) delete state[key];
      });
    } else {
      this.presence = payload;  // presence_count: {count}
    }
    var current = this.presence;
    this.presenceHandlers.forEach(function (cb) { cb(current); });
  };

  function MegaSocket(path, options) {
    this.path = path || "/ws";
    this.options = options || {};
    this.channels = {};
    this.pending = {};
    this.ref = 0;
    this.backoff = 500;
    this.queue = [];
    this.closedByUser = false;
    this._open();
  }

  MegaSocket.prototype.channel = function (topic, params) {
    return (this.channels[topic] = this.channels[topic] || new Channel(this, topic, params));
  };

  MegaSocket.prototype.send = function (frame) {
    var self = this;
    frame.ref = String(++this.ref);
    return new Promise(function (resolve, reject) {
      self.pending[frame.ref] = {resolve: resolve, reject: reject};
      var text = JSON.stringify(frame);
      if (self.ws && self.ws.readyState === 1) self.ws.send(text);
      else self.queue.push(text);
    });
  };

  MegaSocket.prototype.close = function () {
    this.closedByUser = true;
    if (this.ws) this.ws.close(1000);
  };

  MegaSocket.prototype._open = function () {
    var self = this;
    var ws = (this.ws = new WebSocket(wsUrl(this.path), protocols(this.options.token)));
    ws.onopen = function () {
      self.backoff = 500;
      self.queue.splice(0).forEach(function (text) { ws.send(text); });
      Object.keys(self.channels).forEach(function (topic) {
        if (self.channels[topic].joined) self.channels[topic].join();
      });
      if (self.options.onOpen) self.options.onOpen();
    };
    ws.onmessage = function (message) {
      var frame = JSON.parse(message.data);
      if (frame.type === "reply" || frame.type === "error") {
        var waiter = self.pending[frame.ref];
        if (!waiter) return;
        delete self.pending[frame.ref];
        if (frame.type === "reply" && frame.status === "ok") waiter.resolve(frame.payload);
        else waiter.reject(frame.payload);
        return;
      }
      var channel = self.channels[frame.topic];
      if (!channel) return;
      if (frame.type === "event") {
        (channel.handlers[frame.event] || []).forEach(function (cb) { cb(frame.payload); });
      } else {
        channel._presence(frame.type, frame.payload);
      }
    };
    ws.onclose = function (event) {
      Object.keys(self.pending).forEach(function (ref) {
        self.pending[ref].reject({code: "ws.closed", message: "connection closed"});
      });
      self.pending = {};
      if (self.options.onClose) self.options.onClose(event);
      if (self.closedByUser) return;
      setTimeout(function () { self._open(); }, self.backoff);
      self.backoff = Math.min(self.backoff * 2, 10000);
    };
  };

  global.MegaSocket = MegaSocket;
})(typeof window !== "undefined" ? window : globalThis);
