// The unread count beside "Notifications" in the navigation, fetched after the page has loaded so
// that no page waits for it.
(function () {
  "use strict";
  var link = document.querySelector("[data-notifications]");
  if (!link) return;
  fetch("/notifications/unread", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (data) {
      if (!data || !data.unread) return;
      var badge = document.createElement("span");
      badge.className = "unread-count";
      badge.setAttribute("data-testid", "unread-count");
      badge.textContent = data.unread > 99 ? "99+" : String(data.unread);
      link.appendChild(badge);
    })
    .catch(function () {});
})();
