// While an agent has any OpsDesk page open, tell the router they are still here, so auto-away (README,
// "Work routing") turns an online agent away only once every page of theirs is closed. Tabs share one
// beat through localStorage, so several open pages cost no more requests than one.
(function () {
  "use strict";
  var csrf = document.querySelector("form.signout input[name=csrf_token]");
  if (!csrf || !window.fetch) return;
  var EVERY = 30000; // well under the shortest auto-away setting (30 s counts from the last beat)
  var KEY = "opsdesk.presence.beat";
  function beat() {
    var last = 0;
    try { last = Number(window.localStorage.getItem(KEY)) || 0; } catch (e) { last = 0; }
    if (Date.now() - last < EVERY / 2) return; // another tab beat just now
    try { window.localStorage.setItem(KEY, String(Date.now())); } catch (e) { /* private mode */ }
    fetch("/api/v1/routing/presence/me/heartbeat", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf.value },
    }).catch(function () {});
  }
  beat();
  window.setInterval(beat, EVERY);
})();
