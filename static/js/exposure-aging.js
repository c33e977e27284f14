// The aging report's bar chart: open receivables per bucket (base currency, or the filtered currency).
document.addEventListener("DOMContentLoaded", () => {
  const el = document.getElementById("aging-chart");
  const source = document.getElementById("aging-chart-data");
  if (!el || !source || !window.Chart) return;
  const data = JSON.parse(source.textContent);
  const fmt = new Intl.NumberFormat(document.documentElement.lang || undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  new Chart(el, {
    type: "bar",
    data: {
      labels: data.labels,
      datasets: [{ label: `${data.label} (${data.currency})`, data: data.values.map(Number), backgroundColor: ["#20c997", "#ffc107", "#fd7e14", "#dc3545", "#6f42c1"] }],
    },
    options: {
      responsive: true, maintainAspectRatio: false, animation: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (c) => `${data.currency} ${fmt.format(c.parsed.y)}` } },
      },
      scales: { y: { beginAtZero: true, ticks: { callback: (v) => fmt.format(v) } } },
    },
  });
  el.dataset.ready = "1";
});
