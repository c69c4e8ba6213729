// Starts Swagger UI on the API documentation page (/api/v1/docs) from a file, not an inline script,
// so the page runs under `script-src 'self'`. validatorUrl null: no call to swagger.io's validator.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
