// Usage pages (staff and portal): amounts and tokens per day, from the page's json_script blocks.
// The money chart shows cost next to sales only where its canvas says so (staff, never customers).
// Drawn on load, and again when htmx brings the charts in later (the customer page's usage tab).
const drawUsageCharts = () => {
  const source = document.getElementById("usage-chart-data");
  if (!source) return;
  const data = JSON.parse(source.textContent);
  const t = JSON.parse(document.getElementById("usage-chart-labels").textContent);
  const moneyCanvas = document.getElementById("chart-money");
  if (moneyCanvas) {
    const money = [{ label: t.sell, data: data.sell }];
    if (moneyCanvas.dataset.showCost === "true") money.push({ label: t.cost, data: data.cost });
    distributorCharts.line("chart-money", data.labels, money, { money: true });
  }
  distributorCharts.stackedBar("chart-tokens", data.labels, [
    { label: t.input, data: data.input },
    { label: t.cache_read, data: data.cache_read },
    { label: t.cache_write, data: data.cache_write },
    { label: t.output, data: data.output },
  ]);
};
document.addEventListener("DOMContentLoaded", drawUsageCharts);
document.addEventListener("htmx:afterSettle", (event) => {
  if (event.detail.elt.querySelector && event.detail.elt.querySelector("#usage-chart-data")) drawUsageCharts();
});
