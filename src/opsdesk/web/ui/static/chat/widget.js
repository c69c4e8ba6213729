/* OpsDesk chat widget: embed with one tag, <script src="https://DESK/static/chat/widget.js" async></script>.
   Hand-written, no dependencies. It lives in a shadow root so the host page's styles and ours never
   mix, writes every text with textContent (never HTML), and talks to the desk that served it:
   HTTP for availability, the pre-chat form and offline messages; a WebSocket for the chat itself.
   Each message carries its own client id and the last seq seen is kept, so a dropped connection
   resumes without losing or doubling anything. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__opsdeskChat) { return; }
  window.__opsdeskChat = true;
  var base = new URL(script.src).origin;
  var store = "opsdesk-chat:" + base;
  var api = base + "/api/v1/chat";

  function randomId(prefix) {
    var bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return prefix + Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  function load() { try { return JSON.parse(localStorage.getItem(store) || "{}"); } catch (e) { return {}; } }
  function save(s) { try { localStorage.setItem(store, JSON.stringify(s)); } catch (e) { /* private mode */ } }
  var saved = load();
  if (!saved.visitor_id) { saved.visitor_id = randomId("v-"); save(saved); }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  var host = el("div", { id: "opsdesk-chat" });
  document.body.appendChild(host);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  root.appendChild(el("link", { rel: "stylesheet", href: base + "/static/chat/widget.css" }));
  var launcher = el("button", { class: "launcher", type: "button", "data-testid": "chat-open" }, "Chat with us");
  var panel = el("section", { class: "panel", hidden: "", "aria-label": "Chat" });
  var header = el("header", {}, "Chat with us");
  var close = el("button", { class: "close", type: "button", "aria-label": "Close" }, "×");
  header.appendChild(close);
  var body = el("div", { class: "body" });
  panel.appendChild(header);
  panel.appendChild(body);
  root.appendChild(panel);
  root.appendChild(launcher);

  launcher.addEventListener("click", function () { panel.hidden = false; launcher.hidden = true; open(); });
  close.addEventListener("click", function () { panel.hidden = true; launcher.hidden = false; });

  function clear() { while (body.firstChild) { body.removeChild(body.firstChild); } }
  function notice(text) { clear(); body.appendChild(el("p", { class: "notice", "data-testid": "chat-notice" }, text)); }

  function field(form, label, name, type, required) {
    var wrap = el("label", {}, label);
    var input = type === "textarea" ? el("textarea", { name: name, rows: "3" }) : el("input", { name: name, type: type });
    if (required) { input.required = true; }
    wrap.appendChild(input);
    form.appendChild(wrap);
    return input;
  }

  function post(path, data) {
    return fetch(api + path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(data) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) { throw new Error((j.error && j.error.message) || "try again"); } return j; }); });
  }

  function open() {
    if (saved.token) { chat(); return; }
    notice("Connecting…");
    fetch(api + "/availability").then(function (r) { return r.json(); })
      .then(function (a) { if (a.online) { preChat(); } else { offline(a.reason); } })
      .catch(function () { offline(null); });
  }

  function preChat() {
    clear();
    var form = el("form", { class: "form", "data-testid": "prechat" });
    form.appendChild(el("p", {}, "Tell us who you are and how we can help."));
    var name = field(form, "Name", "name", "text", true);
    var email = field(form, "Email", "email", "email", false);
    var language = el("select", { name: "language" });
    [["en", "English"], ["es", "Español"], ["fr", "Français"], ["de", "Deutsch"], ["tl", "Filipino"]].forEach(function (o) {
      language.appendChild(el("option", { value: o[0] }, o[1]));
    });
    var langWrap = el("label", {}, "Language");
    langWrap.appendChild(language);
    form.appendChild(langWrap);
    var text = field(form, "Message", "text", "textarea", true);
    var error = el("p", { class: "error", role: "alert" });
    form.appendChild(error);
    form.appendChild(el("button", { type: "submit" }, "Start chat"));
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var first = randomId("c-");
      post("/start", { visitor_id: saved.visitor_id, client_id: first, name: name.value, email: email.value || null,
        language: language.value, text: text.value })
        .then(function (r) { saved.token = r.token; save(saved); chat(); })
        .catch(function (e) { error.textContent = e.message; });
    });
    body.appendChild(form);
  }

  function offline(reason) {
    clear();
    var form = el("form", { class: "form", "data-testid": "offline" });
    var why = reason === "closed" ? "Chat is closed at this hour." : "No one is available to chat right now.";
    form.appendChild(el("p", { class: "notice" }, why + " Leave a message and we will answer by email."));
    var name = field(form, "Name", "name", "text", true);
    var email = field(form, "Email", "email", "email", true);
    var text = field(form, "Message", "text", "textarea", true);
    var error = el("p", { class: "error", role: "alert" });
    form.appendChild(error);
    form.appendChild(el("button", { type: "submit" }, "Send"));
    var clientId = randomId("o-");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      post("/offline", { visitor_id: saved.visitor_id, client_id: clientId, name: name.value, email: email.value, text: text.value })
        .then(function () { notice("Thanks — we have your message and will reply by email."); })
        .catch(function (e) { error.textContent = e.message; });
    });
    body.appendChild(form);
  }

  /* The live chat. */
  var ws = null, messages = {}, pending = {}, lastSeq = 0, agentRead = 0, ended = false, retry = 500;
  var list, typing, input, endButton;

  function chat() {
    clear();
    list = el("ol", { class: "messages", "data-testid": "chat-messages" });
    typing = el("p", { class: "typing", hidden: "" }, "Agent is typing…");
    var form = el("form", { class: "compose" });
    input = el("textarea", { rows: "2", "aria-label": "Message", "data-testid": "chat-input" });
    form.appendChild(input);
    var attach = el("input", { type: "file", class: "file", "aria-label": "Attach a file", "data-testid": "chat-file" });
    var clip = el("label", { class: "clip", title: "Attach a file" }, "File");
    clip.appendChild(attach);
    form.appendChild(clip);
    form.appendChild(el("button", { type: "submit", "data-testid": "chat-send" }, "Send"));
    attach.addEventListener("change", function () { if (attach.files.length) { upload(attach.files[0]); attach.value = ""; } });
    endButton = el("button", { type: "button", class: "end", "data-testid": "chat-end" }, "End chat");
    body.appendChild(list);
    body.appendChild(typing);
    body.appendChild(form);
    body.appendChild(endButton);
    form.addEventListener("submit", function (ev) { ev.preventDefault(); send(); });
    input.addEventListener("keydown", function (ev) { if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); send(); } });
    var typingSent = false, typingTimer = null;
    input.addEventListener("input", function () {
      if (!typingSent) { frame({ type: "typing", on: true }); typingSent = true; }
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { frame({ type: "typing", on: false }); typingSent = false; }, 2000);
    });
    endButton.addEventListener("click", function () { frame({ type: "end" }); });
    connect();
  }

  function frame(f) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(f)); } }

  function send() {
    var text = input.value.trim();
    if (!text || ended) { return; }
    var id = randomId("c-");
    pending[id] = text;
    input.value = "";
    render();
    frame({ type: "send", client_id: id, text: text });
  }

  /* A file goes over HTTP (a message like any other: its own client id, acknowledged once). */
  function upload(file) {
    var id = randomId("f-"), body = new FormData();
    body.append("client_id", id);
    body.append("file", file);
    pending[id] = file.name;
    render();
    fetch(api + "/messages", { method: "POST", headers: { Authorization: "Bearer " + saved.token }, body: body })
      .then(function (r) { return r.json(); })
      .then(function (r) { if (r.type === "ack") { delete pending[id]; } else { delete pending[id]; typing.hidden = false; typing.textContent = (r.error && r.error.message) || "The file was not sent"; } render(); });
  }

  function download(a) {
    fetch(api + "/attachments/" + a.id, { headers: { Authorization: "Bearer " + saved.token } })
      .then(function (r) { return r.blob(); })
      .then(function (blob) {
        var link = el("a", { href: URL.createObjectURL(blob), download: a.filename });
        root.appendChild(link); link.click(); link.remove();
      });
  }

  function connect() {
    ws = new WebSocket(base.replace(/^http/, "ws") + "/chat/ws/visitor");
    ws.onopen = function () {
      retry = 500;
      ws.send(JSON.stringify({ type: "hello", token: saved.token, last_seq: lastSeq }));
      Object.keys(pending).forEach(function (id) { frame({ type: "send", client_id: id, text: pending[id] }); });
    };
    ws.onmessage = function (ev) { receive(JSON.parse(ev.data)); };
    ws.onclose = function (ev) {
      if (ev.code === 4401) { delete saved.token; save(saved); open(); return; }
      if (!ended) { setTimeout(connect, retry); retry = Math.min(retry * 2, 10000); }
    };
  }

  function receive(f) {
    if (f.type === "message") {
      if (f.seq > lastSeq + 1 && !messages[lastSeq + 1]) { frame({ type: "hello", token: saved.token, last_seq: lastSeq }); }
      messages[f.seq] = f;
      delete pending[f.client_id];
      while (messages[lastSeq + 1]) { lastSeq += 1; }
      if (f.sender === "agent") { typing.hidden = true; }
      render();
      if (!panel.hidden) { frame({ type: "read", seq: lastSeq }); }
    } else if (f.type === "ack") {
      delete pending[f.client_id];
    } else if (f.type === "sync") {
      frame({ type: "hello", token: saved.token, last_seq: lastSeq });
    } else if (f.type === "typing" && f.from === "agent") {
      typing.hidden = !f.on;
    } else if (f.type === "read" && f.from === "agent") {
      agentRead = f.seq; render();
    } else if (f.type === "state") {
      agentRead = Math.max(agentRead, f.agent_read_seq || 0);
      if (f.state === "ended") { finish(); }
      header.firstChild.textContent = f.agent ? "Chatting with " + f.agent : "Waiting for an agent…";
    } else if (f.type === "ended") {
      finish();
    } else if (f.type === "rated") {
      notice("Thank you for your rating.");
    } else if (f.type === "error") {
      typing.hidden = false; typing.textContent = f.message;
    }
  }

  function render() {
    while (list.firstChild) { list.removeChild(list.firstChild); }
    var mine = 0;
    Object.keys(messages).map(Number).sort(function (a, b) { return a - b; }).forEach(function (seq) {
      var m = messages[seq];
      var item = el("li", { class: m.sender, "data-seq": String(seq) });
      item.appendChild(el("span", { class: "who" }, m.sender === "agent" ? m.author : "You"));
      item.appendChild(el("span", { class: "text" }, m.text));
      (m.attachments || []).forEach(function (a) {
        var b = el("button", { type: "button", class: "file-link" }, "File: " + a.filename);
        b.addEventListener("click", function () { download(a); });
        item.appendChild(b);
      });
      list.appendChild(item);
      if (m.sender === "visitor") { mine = seq; }
    });
    Object.keys(pending).forEach(function (id) {
      var item = el("li", { class: "visitor pending" });
      item.appendChild(el("span", { class: "who" }, "You"));
      item.appendChild(el("span", { class: "text" }, pending[id]));
      list.appendChild(item);
    });
    if (mine && agentRead >= mine) { list.appendChild(el("li", { class: "seen", "data-testid": "chat-seen" }, "Seen")); }
    list.scrollTop = list.scrollHeight;
  }

  /* The end of a chat offers a rating; the desk's surveys store it (see README, "Chat"). */
  function finish() {
    if (ended) { return; }
    ended = true;
    delete saved.token; save(saved);
    if (ws) { ws.onclose = null; }
    endButton.hidden = true;
    var rate = el("div", { class: "rate", "data-testid": "chat-rate" });
    rate.appendChild(el("p", {}, "The chat has ended. How did we do?"));
    [["good", "Good"], ["bad", "Bad"]].forEach(function (r) {
      var b = el("button", { type: "button", "data-rating": r[0] }, r[1]);
      b.addEventListener("click", function () { frame({ type: "rate", rating: r[0] }); });
      rate.appendChild(b);
    });
    body.appendChild(rate);
  }
})();
