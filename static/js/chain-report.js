// Margin per hop: cost and margin per seller, stacked so each bar is the seller's revenue.
document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("chain-chart-data").textContent);
  const t = JSON.parse(document.getElementById("chain-chart-labels").textContent);
  distributorCharts.stackedBar("chart-chain", data.labels, [
    { label: t.cost, data: data.cost },
    { label: t.margin, data: data.margin },
  ], { money: true });
});
