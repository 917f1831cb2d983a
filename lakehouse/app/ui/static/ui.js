// Draws every chart of the page from its JSON spec (<script type="application/json" data-chart="id">),
// then marks the body with data-charts="ready" (or "failed"), which the browser tests wait for.
(function () {
  "use strict";
  var specs = Array.prototype.slice.call(document.querySelectorAll("script[type='application/json'][data-chart]"));
  function failed(error) {
    document.body.setAttribute("data-charts", "failed");
    console.error("chart failed:", error);
  }
  if (specs.length && typeof Plotly === "undefined") {
    failed("plotly.js did not load");
    return;
  }
  var drawn = specs.map(function (script) {
    var id = script.getAttribute("data-chart");
    var target = document.getElementById("chart-" + id);
    if (!target) { return Promise.reject("no element for chart " + id); }
    var spec = JSON.parse(script.textContent);
    return Plotly.newPlot(target, spec.data, spec.layout, { displaylogo: false, responsive: true });
  });
  Promise.all(drawn).then(function () { document.body.setAttribute("data-charts", "ready"); }, failed);
})();
