// A reconciliation run: value at stake per class (base currency), one bar per class that occurs.
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("recon-chart-data").textContent);
  const t = JSON.parse(document.getElementById("recon-chart-labels").textContent);
  if (!data.labels.length) return;
  distributorCharts.stackedBar("chart-recon", data.labels, [{ label: t.value, data: data.values }], { money: true });
});
