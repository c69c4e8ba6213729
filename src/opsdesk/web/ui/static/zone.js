// Tells the server the browser's time zone (a cookie), so that pages show times in it when the user has
// chosen no zone and works at no site. A file, not an inline script: pages run under CSP script-src 'self'.
(function () {
  "use strict";
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!zone || !/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) {
    return;
  }
  var sent = document.cookie.split("; ").filter(function (c) {
    return c.indexOf("opsdesk_zone=") === 0;
  })[0];
  if (sent === "opsdesk_zone=" + zone) {
    return;
  }
  document.cookie = "opsdesk_zone=" + zone + "; path=/; max-age=31536000; samesite=lax";
  // Rendered before the server knew the zone: show this page's times in it too (once: the cookie now
  // matches, so the reload does not reload again).
  var source = document.documentElement.getAttribute("data-zone-source");
  if (source === "default" || source === "browser") {
    window.location.reload();
  }
})();
