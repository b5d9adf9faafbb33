// mega-secure.js: the browser client of mega's secure plugin (served at /secure/client.js).
//
//   const secure = await MegaSecure.agree();                // POST /secure/handshake
//   const answer = await secure.fetch("/api/secure/notes", {method: "POST", json: {text: "hi"}});
//   answer.status; answer.sealed; answer.body;              // body: the parsed JSON, opened
//   const socket = secure.socket("/ws");                     // frames sealed both ways
//   await socket.join("room:1", {name: "Ada"});
//   socket.on("room:1", "said", (payload) => ...);
//   await socket.push("room:1", "say", {text: "hi"});
//
// Key agreement uses X25519 where WebCrypto has it (Chromium 133+, Firefox 130+, Safari 17+)
// and ECDH P-256 elsewhere; pass {alg: "p256"} to choose. Everything runs in WebCrypto: the key
// is created non-extractable and never leaves it. No dependencies, no build step.
(function (global) {
  "use strict";

  var subtle = global.crypto.subtle;
  var encoder = new TextEncoder();
  var decoder = new TextDecoder();
  var MEDIA_TYPE = "application/vnd.mega.secure+json";
  var LABEL = "mega-secure/1";

  // standard base64, padded: every binary field of the protocol
  function b64(bytes) {
    var text = "";
    for (var i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  }

  function unb64(text) {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
      throw secureError("secure.bad_envelope", "not base64");
    }
    var raw = atob(text);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function concat() {
    var total = 0, offset = 0, parts = Array.prototype.slice.call(arguments);
    parts.forEach(function (p) { total += p.length; });
    var out = new Uint8Array(total);
    parts.forEach(function (p) { out.set(p, offset); offset += p.length; });
    return out;
  }

  function aad(parts) {
    return encoder.encode([LABEL].concat(parts).join("\n"));
  }

  function secureError(code, message) {
    var error = new Error(message);
    error.code = code;
    return error;
  }

  function params(alg) {
    return alg === "x25519" ? {name: "X25519"} : {name: "ECDH", namedCurve: "P-256"};
  }

  var x25519 = null;

  // whether this browser's WebCrypto does X25519 (asked once)
  function hasX25519() {
    if (x25519 === null) {
      x25519 = subtle.generateKey({name: "X25519"}, false, ["deriveBits"]).then(
        function () { return true; },
        function () { return false; }
      );
    }
    return x25519;
  }

  function MegaSecure(kid, key, alg, options) {
    this.kid = kid;
    this.key = key;
    this.alg = alg;
    this.skewMs = (options && options.skewS || 60) * 1000;
  }

  // agree a key with the server: {path: "/secure/handshake", alg: "x25519" | "p256"}
  MegaSecure.agree = async function (options) {
    options = options || {};
    var alg = options.alg || ((await hasX25519()) ? "x25519" : "p256");
    var pair = await subtle.generateKey(params(alg), false, ["deriveBits"]);
    var own = new Uint8Array(await subtle.exportKey("raw", pair.publicKey));
    var response = await global.fetch(options.path || "/secure/handshake", {
      method: "POST",
      headers: {"content-type": "application/json"},
      body: JSON.stringify({alg: alg, public_key: b64(own)}),
    });
    var body = await response.json();
    if (!response.ok) throw secureError(body.error.code, body.error.message);
    var theirs = unb64(body.data.public_key);
    var peer = await subtle.importKey("raw", theirs, params(alg), false, []);
    var bits = await subtle.deriveBits(
      {name: alg === "x25519" ? "X25519" : "ECDH", public: peer}, pair.privateKey, 256
    );
    var material = await subtle.importKey("raw", bits, "HKDF", false, ["deriveKey"]);
    var key = await subtle.deriveKey(
      {name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0),
       info: concat(encoder.encode(LABEL + " key " + alg), own, theirs)},
      material, {name: "AES-GCM", length: 256}, false, ["encrypt", "decrypt"]
    );
    return new MegaSecure(body.data.kid, key, alg, options);
  };

  // an envelope (JSON text) of plaintext bytes; purpose(ts, kid) -> the associated data parts
  MegaSecure.prototype.seal = async function (plaintext, purpose) {
    var ts = Date.now();
    var nonce = global.crypto.getRandomValues(new Uint8Array(12));
    var sealed = await subtle.encrypt(
      {name: "AES-GCM", iv: nonce, additionalData: aad(purpose(ts, this.kid)), tagLength: 128},
      this.key, plaintext
    );
    return {text: JSON.stringify({v: 1, kid: this.kid, ts: ts, nonce: b64(nonce), ct: b64(new Uint8Array(sealed))}), nonce: nonce};
  };

  // the plaintext bytes of an envelope (JSON text), checked against purpose(ts, kid)
  MegaSecure.prototype.open = async function (text, purpose) {
    var envelope = JSON.parse(text);
    if (envelope.v !== 1) throw secureError("secure.unsupported_version", "envelope version " + envelope.v);
    if (envelope.kid !== this.kid) throw secureError("secure.decrypt_failed", "sealed under another key");
    try {
      var plain = await subtle.decrypt(
        {name: "AES-GCM", iv: unb64(envelope.nonce), additionalData: aad(purpose(envelope.ts, envelope.kid)), tagLength: 128},
        this.key, unb64(envelope.ct)
      );
    } catch (e) {
      throw secureError("secure.decrypt_failed", "the envelope did not open under its key");
    }
    return {bytes: new Uint8Array(plain), ts: envelope.ts, nonce: envelope.nonce};
  };

  // fetch(url, {method, json, headers}) -> {status, sealed, body}; the request goes sealed,
  // a sealed answer is opened (bound to this request), a 2xx/3xx in the clear is refused
  MegaSecure.prototype.fetch = async function (url, options) {
    options = options || {};
    var method = (options.method || "GET").toUpperCase();
    var target = new URL(url, global.location.href);
    var path = target.pathname + target.search;
    var plaintext = options.json === undefined ? new Uint8Array(0) : encoder.encode(JSON.stringify(options.json));
    var sealed = await this.seal(plaintext, function (ts, kid) { return ["req", method, path, ts, kid]; });
    var headers = Object.assign({}, options.headers || {});
    var init = {method: method, headers: headers, credentials: options.credentials || "same-origin"};
    if (plaintext.length || ["POST", "PUT", "PATCH"].indexOf(method) >= 0) {
      headers["content-type"] = MEDIA_TYPE;
      init.body = sealed.text;
    } else {
      headers["x-mega-secure"] = sealed.text;
    }
    var response = await global.fetch(target.toString(), init);
    var text = await response.text();
    var media = (response.headers.get("content-type") || "").split(";")[0].trim().toLowerCase();
    if (media !== MEDIA_TYPE) {
      if (response.status < 400 && text) throw secureError("secure.unsealed", "an answer in the clear to a sealed request");
      return {status: response.status, sealed: false, body: text ? JSON.parse(text) : null};
    }
    var requestNonce = b64(sealed.nonce), status = response.status;
    var opened = await this.open(text, function (ts, kid) { return ["res", status, requestNonce, ts, kid]; });
    var plain = decoder.decode(opened.bytes);
    return {status: status, sealed: true, body: plain ? JSON.parse(plain) : null};
  };

  MegaSecure.prototype.socket = function (path, options) {
    return new SecureSocket(this, path || "/ws", options || {});
  };

  // a socket speaking the ws plugin's envelope, every frame sealed
  function SecureSocket(secure, path, options) {
    var self = this;
    var url = new URL(path, global.location.href);
    this.path = url.pathname;
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    this.secure = secure;
    this.ref = 0;
    this.pending = {};
    this.handlers = {};
    this.seen = {};
    this.errors = [];
    this.inbound = Promise.resolve();   // frames open in the order they came
    this.outbound = Promise.resolve();  // and are sealed and sent in the order given
    var protocols = ["mega.v1", "mega.secure." + secure.kid];
    if (options.token) protocols.push("bearer." + options.token);
    this.ws = new WebSocket(url.toString(), protocols);
    this.ready = new Promise(function (resolve, reject) {
      self.ws.onopen = function () { resolve(); };
      self.ws.onerror = function () { reject(secureError("secure.socket_failed", "the socket did not open")); };
    });
    this.ws.onmessage = function (message) {
      self.inbound = self.inbound.then(function () { return self._receive(message.data); }).catch(function (e) {
        self.errors.push(e);
      });
    };
  }

  SecureSocket.prototype._receive = async function (data) {
    var path = this.path, secure = this.secure;
    var opened = await secure.open(data, function (ts, kid) { return ["ws-s", path, ts, kid]; });
    if (Math.abs(Date.now() - opened.ts) > secure.skewMs) throw secureError("secure.stale", "a stale frame");
    if (this.seen[opened.nonce]) throw secureError("secure.replayed", "a replayed frame");
    this.seen[opened.nonce] = opened.ts;
    var frame = JSON.parse(decoder.decode(opened.bytes));
    if ((frame.type === "reply" || frame.type === "error") && this.pending[frame.ref]) {
      var waiter = this.pending[frame.ref];
      delete this.pending[frame.ref];
      if (frame.type === "reply" && frame.status === "ok") waiter.resolve(frame.payload);
      else waiter.reject(frame.payload);
      return;
    }
    var handlers = this.handlers[frame.topic + " " + frame.event] || [];
    handlers.forEach(function (cb) { cb(frame.payload, frame); });
  };

  SecureSocket.prototype.request = function (frame) {
    var self = this;
    frame.ref = String(++this.ref);
    var reply = new Promise(function (resolve, reject) { self.pending[frame.ref] = {resolve: resolve, reject: reject}; });
    var path = this.path;
    this.outbound = this.outbound.then(function () { return self.ready; }).then(function () {
      return self.secure.seal(encoder.encode(JSON.stringify(frame)), function (ts, kid) { return ["ws-c", path, ts, kid]; });
    }).then(function (sealed) { self.ws.send(sealed.text); });
    return reply;
  };

  SecureSocket.prototype.join = function (topic, payload) {
    return this.request({type: "join", topic: topic, payload: payload || {}});
  };

  SecureSocket.prototype.push = function (topic, event, payload) {
    return this.request({type: "event", topic: topic, event: event, payload: payload || {}});
  };

  SecureSocket.prototype.on = function (topic, event, callback) {
    var key = topic + " " + event;
    (this.handlers[key] = this.handlers[key] || []).push(callback);
    return this;
  };

  SecureSocket.prototype.close = function () {
    this.ws.close(1000);
  };

  MegaSecure.hasX25519 = hasX25519;
  global.MegaSecure = MegaSecure;
})(typeof window !== "undefined" ? window : globalThis);
