// Small wrappers over Chart.js so pages pass [[label, value], …] pairs and get a consistent look.
window.distributorCharts = (() => {
  const palette = ["#0d6efd", "#20c997", "#fd7e14", "#6f42c1", "#d63384", "#198754", "#ffc107", "#0dcaf0"];
  const split = (pairs) => ({ labels: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]) });
  const make = (id, type, pairs, extra = {}) => {
    const el = document.getElementById(id);
    if (!el || !window.Chart) return null;
    const { labels, values } = split(pairs);
    return new Chart(el, {
      type,
      data: { labels, datasets: [{ data: values, backgroundColor: palette.slice(0, values.length) }] },
      options: Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, extra),
    });
  };
  return {
    doughnut: (id, pairs) => make(id, "doughnut", pairs, { plugins: { legend: { position: "bottom" } } }),
    bar: (id, pairs) => make(id, "bar", pairs, { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }),
  };
})();
