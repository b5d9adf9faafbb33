// The interactive API docs (mega's http plugin): Swagger UI on this app's /openapi.json.
// Loaded from a file, not inline, so the page runs under a CSP with no 'unsafe-inline'; the
// page passes its settings in data- attributes of #swagger-ui.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  var tokenUrl = root.dataset.csrfToken;
  var UNSAFE = /^(POST|PUT|PATCH|DELETE)$/i;

  function sameOrigin(url) {
    return new URL(url, window.location.href).origin === window.location.origin;
  }

  // Unsafe requests of a session need the CSRF token, signed from an HttpOnly cookie that
  // scripts cannot read: ask the server for it before each one, so a token renewed by a
  // sign-in (the session rotates) is the one sent. Never sent to another origin.
  function withCsrfToken(request) {
    if (!tokenUrl || !UNSAFE.test(request.method || "") || !sameOrigin(request.url)) {
      return request;
    }
    return fetch(tokenUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (body) {
        var token = body && body.data && body.data.csrf_token;
        if (token) {
          request.headers = request.headers || {};
          request.headers["X-CSRF-Token"] = token;
        }
        return request;
      });
  }

  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapi,
    domNode: root,
    deepLinking: true,
    displayRequestDuration: true,
    // the badge is an image from an outside validator: offline pages, and no leaking the URL
    validatorUrl: null,
    requestInterceptor: withCsrfToken,
    presets: [window.SwaggerUIBundle.presets.apis],
    plugins: [window.SwaggerUIBundle.plugins.DownloadUrl],
    layout: "BaseLayout"
  });
})();
