// youshu workbench: draws every chart of a page from its embedded JSON with the locally served plotly.js.
// Pages carry <script type="application/json" class="figure" data-target="ID"> blocks; no inline scripts run
// (the Content-Security-Policy allows scripts from this server only).
(function () {
  "use strict";
  function draw() {
    document.querySelectorAll("script.figure[data-target]").forEach(function (block) {
      var target = document.getElementById(block.dataset.target);
      if (!target || !window.Plotly) { return; }
      var fig = JSON.parse(block.textContent);
      var layout = Object.assign({ autosize: true, margin: { l: 50, r: 20, t: 40, b: 40 } }, fig.layout || {});
      window.Plotly.newPlot(target, fig.data || [], layout, { displaylogo: false, responsive: true }).then(function () {
        target.dataset.drawn = "true";
        if (block.dataset.link) {
          // clicking a point follows the URL in its customdata (e.g. a map marker opens that outlet's circle)
          target.on("plotly_click", function (event) {
            var point = event.points && event.points[0];
            if (point && point.customdata) { window.location.href = String(point.customdata); }
          });
        }
      });
    });
  }
  function confirmForms() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(); confirmForms(); });
})();
