// Usage pages (staff and portal): amounts and tokens per day, from the page's json_script blocks.
// The money chart shows cost next to sales only where its canvas says so (staff, never customers).
// Drawn on load, and again when htmx brings the charts in later (the customer page's usage tab).
// htmx drops <script> elements from what it swaps in (allowScriptTags is off), so a partial carries the
// same data in data-usage-chart / data-usage-chart-labels attributes instead.
const usageChartData = () => {
  const source = document.getElementById("usage-chart-data");
  if (source) {
    return [JSON.parse(source.textContent), JSON.parse(document.getElementById("usage-chart-labels").textContent)];
  }
  const holder = document.querySelector("[data-usage-chart]");
  if (holder) return [JSON.parse(holder.dataset.usageChart), JSON.parse(holder.dataset.usageChartLabels)];
  return null;
};
const drawUsageCharts = () => {
  const found = usageChartData();
  if (!found) return;
  const [data, t] = found;
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
  // Fired on the element swapped into (the tabs), whatever link asked for it.
  if (event.target.querySelector && event.target.querySelector("[data-usage-chart]")) drawUsageCharts();
});
