// The forecast page's projected funded float: one line from today's float over the horizon.
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("forecast-chart");
  const source = document.getElementById("forecast-chart-data");
  if (!el || !source || !window.distributorCharts) return;
  const data = JSON.parse(source.textContent);
  window.distributorCharts.line("forecast-chart", data.labels, [{ label: data.title, data: data.float }], { money: true });
  el.dataset.ready = "1";
});
