// Staff dashboard: customers by billing mode and by kind, from the page's json_script blocks.
document.addEventListener("DOMContentLoaded", () => {
  const data = (id) => JSON.parse(document.getElementById(id).textContent);
  distributorCharts.doughnut("chart-mode", data("data-mode"));
  distributorCharts.bar("chart-kind", data("data-kind"));
});
