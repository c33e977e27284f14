// Usage pages (staff and portal): amounts and tokens per day, from the page's json_script blocks.
// The money chart shows cost next to sales only where its canvas says so (staff, never customers).
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("usage-chart-data").textContent);
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
});
