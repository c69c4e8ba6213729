/* The chat console: keeps the list of chats current (a console socket says when it changed), opens
   several chats side by side, each on its own socket that resumes from its last seq and resends
   unacknowledged replies. Text is always set with textContent. */
(function () {
  "use strict";
  var list = document.getElementById("chat-list");
  var panels = document.getElementById("chat-panels");
  if (!list || !panels) { return; }
  var wsBase = location.origin.replace(/^http/, "ws");
  var open = {};

  function randomId(prefix) {
    var b = new Uint8Array(10); crypto.getRandomValues(b);
    return prefix + Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function el(tag, cls, text) { var n = document.createElement(tag); if (cls) { n.className = cls; } if (text) { n.textContent = text; } return n; }

  function refreshList() {
    fetch("/chat/list", { credentials: "same-origin" }).then(function (r) { return r.text(); })
      .then(function (html) { list.innerHTML = html; });
  }
  list.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-chat]");
    if (button) { openChat(button.getAttribute("data-chat")); }
  });

  (function consoleSocket() {
    var retry = 1000;
    function connect() {
      var ws = new WebSocket(wsBase + "/chat/ws/console");
      ws.onopen = function () { retry = 1000; refreshList(); };
      ws.onmessage = function (ev) { if (JSON.parse(ev.data).type === "chats_changed") { refreshList(); } };
      ws.onclose = function () { setTimeout(connect, retry); retry = Math.min(retry * 2, 15000); };
      setInterval(function () { if (ws.readyState === 1) { ws.send("{\"type\":\"ping\"}"); } }, 20000);
    }
    connect();
  })();

  function openChat(id) {
    if (open[id]) { return; }
    fetch("/chat/" + id, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      var holder = document.createElement("div");
      holder.innerHTML = html;
      var panel = holder.firstElementChild;
      panels.appendChild(panel);
      open[id] = new Chat(id, panel);
    });
  }

  function Chat(id, panel) {
    var self = this;
    var messages = {}, pending = {}, lastSeq = 0, visitorRead = 0, ws = null, closed = false, retry = 500;
    var ticketId = panel.getAttribute("data-ticket");
    var transcript = panel.querySelector(".chat-messages");
    var typing = panel.querySelector(".chat-typing");
    var state = panel.querySelector(".chat-state");
    var presence = panel.querySelector(".chat-presence");
    var reply = panel.querySelector("textarea");
    var transferTo = panel.querySelector(".chat-transfer-to");
    transferTo.innerHTML = document.getElementById("chat-transfer-options").innerHTML;

    function frame(f) { if (ws && ws.readyState === 1) { ws.send(JSON.stringify(f)); } }
    function render() {
      transcript.textContent = "";
      var mine = 0;
      Object.keys(messages).map(Number).sort(function (a, b) { return a - b; }).forEach(function (seq) {
        var m = messages[seq];
        var li = el("li", m.sender); li.setAttribute("data-seq", String(seq));
        li.appendChild(el("span", "who", m.sender === "agent" ? m.author : "Customer"));
        li.appendChild(el("span", "text", m.text));
        (m.attachments || []).forEach(function (a) {
          var link = el("a", "file-link", "File: " + a.filename);
          link.href = "/api/v1/tickets/" + ticketId + "/attachments/" + a.id;
          li.appendChild(link);
        });
        transcript.appendChild(li);
        if (m.sender === "agent") { mine = seq; }
      });
      Object.keys(pending).forEach(function (cid) {
        var li = el("li", "agent pending"); li.appendChild(el("span", "who", "You")); li.appendChild(el("span", "text", pending[cid]));
        transcript.appendChild(li);
      });
      if (mine && visitorRead >= mine) { transcript.appendChild(el("li", "muted", "Seen")); }
      transcript.scrollTop = transcript.scrollHeight;
    }
    function connect() {
      ws = new WebSocket(wsBase + "/chat/ws/agent/" + id);
      ws.onopen = function () {
        retry = 500;
        ws.send(JSON.stringify({ type: "hello", last_seq: lastSeq }));
        Object.keys(pending).forEach(function (cid) { frame({ type: "send", client_id: cid, text: pending[cid] }); });
      };
      ws.onmessage = function (ev) {
        var f = JSON.parse(ev.data);
        if (f.type === "message") {
          if (f.seq > lastSeq + 1 && !messages[lastSeq + 1]) { frame({ type: "hello", last_seq: lastSeq }); }
          messages[f.seq] = f; delete pending[f.client_id];
          while (messages[lastSeq + 1]) { lastSeq += 1; }
          if (f.sender === "visitor") { typing.hidden = true; }
          render(); frame({ type: "read", seq: lastSeq });
        } else if (f.type === "ack") { delete pending[f.client_id];
        } else if (f.type === "sync") { frame({ type: "hello", last_seq: lastSeq });
        } else if (f.type === "typing" && f.from === "visitor") { typing.hidden = !f.on;
        } else if (f.type === "read" && f.from === "visitor") { visitorRead = f.seq; render();
        } else if (f.type === "presence") { presence.textContent = f.visitor === "online" ? "online" : "left";
        } else if (f.type === "state") {
          visitorRead = Math.max(visitorRead, f.visitor_read_seq || 0);
          presence.textContent = f.visitor === "online" ? "online" : "left";
          state.textContent = f.state + (f.agent ? " · " + f.agent : "");
        } else if (f.type === "ended") { state.textContent = "ended by " + f.by;
        } else if (f.type === "error") { state.textContent = f.message; }
      };
      ws.onclose = function (ev) {
        if (closed || ev.code === 4403 || ev.code === 4404 || ev.code === 4401) { if (!closed) { state.textContent = ev.reason; } return; }
        setTimeout(connect, retry); retry = Math.min(retry * 2, 10000);
      };
    }
    function send() {
      var text = reply.value.trim(); if (!text) { return; }
      var cid = randomId("a-"); pending[cid] = text; reply.value = ""; render();
      frame({ type: "send", client_id: cid, text: text });
    }
    panel.querySelector("form").addEventListener("submit", function (ev) { ev.preventDefault(); send(); });
    reply.addEventListener("keydown", function (ev) { if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); send(); } });
    var typingTimer = null, typingSent = false;
    reply.addEventListener("input", function () {
      if (!typingSent) { frame({ type: "typing", on: true }); typingSent = true; }
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { frame({ type: "typing", on: false }); typingSent = false; }, 2000);
    });
    /* A file goes over HTTP (the widget's upload path, the other way round); its message arrives on
       the socket like any other. */
    var fileInput = panel.querySelector(".chat-file");
    fileInput.addEventListener("change", function () {
      if (!fileInput.files.length) { return; }
      var body = new FormData();
      body.append("csrf_token", panel.getAttribute("data-csrf"));
      body.append("client_id", randomId("f-"));
      body.append("file", fileInput.files[0]);
      var before = state.textContent;
      fileInput.value = ""; state.textContent = "Sending the file…";
      fetch("/chat/" + id + "/messages", { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
        state.textContent = r.ok ? before : (r.status === 413 ? "The file is over the size limit" : "The file was not sent (" + r.status + ")");
      }, function () { state.textContent = "The file was not sent"; });
    });
    panel.querySelector(".chat-accept").addEventListener("click", function () { frame({ type: "accept" }); });
    panel.querySelector(".chat-end").addEventListener("click", function () { frame({ type: "end" }); });
    panel.querySelector(".chat-transfer").addEventListener("click", function () {
      var parts = transferTo.value.split(":");
      if (parts.length !== 2) { return; }
      var f = { type: "transfer" }; f[parts[0] === "agent" ? "to_agent_id" : "to_group_id"] = Number(parts[1]);
      frame(f);
    });
    panel.querySelector(".chat-close").addEventListener("click", function () {
      closed = true; if (ws) { ws.close(); } panel.remove(); delete open[id];
    });
    connect();
    return self;
  }
})();
