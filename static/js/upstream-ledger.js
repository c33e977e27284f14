// The upstream ledger's burn-down: the prepaid balance by day, then its projection to zero (dashed).
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("ledger-chart");
  if (!el || !window.Chart) return;
  const data = JSON.parse(document.getElementById("ledger-chart-data").textContent);
  const t = JSON.parse(document.getElementById("ledger-chart-labels").textContent);
  const numbers = (values) => values.map((v) => (v === null ? null : Number(v)));
  const fmt = new Intl.NumberFormat(document.documentElement.lang || undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  new Chart(el, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        { label: t.balance, data: numbers(data.balance), borderColor: "#0d6efd", backgroundColor: "#0d6efd33", fill: "origin", tension: 0.2, pointRadius: 0 },
        { label: t.projection, data: numbers(data.projection), borderColor: "#fd7e14", borderDash: [6, 4], fill: false, pointRadius: 0, spanGaps: false },
      ],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom" },
        tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${fmt.format(c.parsed.y)}` } },
      },
      scales: {
        x: { ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
        y: { beginAtZero: true, ticks: { callback: (v) => fmt.format(v) } },
      },
    },
  });
});
