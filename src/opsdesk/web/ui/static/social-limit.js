/* The ticket composer counts down to the social platform's limit for a public reply (an internal
   note has none); the server refuses a longer public reply in any case. */
(function () {
  "use strict";
  var box = document.querySelector("textarea[data-social-limit]");
  if (!box) { return; }
  var form = box.form;
  var limit = parseInt(box.getAttribute("data-social-limit"), 10);
  var out = form.querySelector("[data-testid=social-remaining]");
  var kind = form.querySelector("select[name=kind]");
  var send = form.querySelector("button[type=submit]");
  function update() {
    var publicReply = !kind || kind.value === "reply";
    var left = limit - Array.from(box.value.trim()).length;  // characters, as the server counts them
    out.textContent = String(left);
    out.parentNode.hidden = !publicReply;
    out.classList.toggle("over", publicReply && left < 0);
    send.disabled = publicReply && left < 0;
  }
  box.addEventListener("input", update);
  if (kind) { kind.addEventListener("change", update); }
  update();
}());
