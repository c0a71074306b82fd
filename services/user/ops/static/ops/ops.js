// The /ops/ dashboard: fetches every chart's lines from /ops/series/ (Prometheus, through the user
// service) every 10 s and draws each with uPlot. Each figure gets data-points (non-empty values drawn)
// and data-state="ready" once drawn: the headless-browser test reads them.
(function () {
  "use strict";
  var script = document.currentScript;
  var seriesUrl = script.getAttribute("data-series");
  var palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"];
  var plots = {};

  function options(figure, lines) {
    var unit = figure.getAttribute("data-unit");
    return {
      width: figure.clientWidth - 16,
      height: 220,
      scales: { x: { time: true } },
      axes: [{}, { label: unit, size: 60 }],
      series: [{}].concat(lines.map(function (line, i) {
        return { label: line.name, stroke: palette[i % palette.length], width: 1.5, spanGaps: false };
      })),
    };
  }

  function draw(id, chart) {
    var figure = document.getElementById("chart-" + id);
    if (!figure) return;
    var data = [chart.x].concat(chart.lines.map(function (line) { return line.values; }));
    var names = chart.lines.map(function (line) { return line.name; }).join("|");
    var plot = plots[id];
    if (plot && plot.names === names) {
      plot.uplot.setData(data);
    } else {
      if (plot) plot.uplot.destroy();
      var holder = figure.querySelector(".plot");
      holder.textContent = "";
      plots[id] = { names: names, uplot: new uPlot(options(figure, chart.lines), data, holder) };
    }
    var points = 0;
    chart.lines.forEach(function (line) {
      line.values.forEach(function (v) { if (v !== null) points += 1; });
    });
    figure.setAttribute("data-points", String(points));
    figure.setAttribute("data-lines", String(chart.lines.length));
    figure.setAttribute("data-state", "ready");
  }

  function refresh() {
    fetch(seriesUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 403) { window.location = "/ops/login/?next=/ops/"; return null; }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (body) {
        if (!body) return;
        Object.keys(body.charts).forEach(function (id) { draw(id, body.charts[id]); });
        document.getElementById("updated").textContent = new Date().toLocaleTimeString();
        document.getElementById("status").textContent = "";
      })
      .catch(function (error) {
        document.getElementById("status").textContent = "could not refresh: " + error.message;
      });
  }

  refresh();
  window.setInterval(refresh, 10000);
})();
