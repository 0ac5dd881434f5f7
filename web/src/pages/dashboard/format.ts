// How the dashboards write numbers and times (en-US grouping, as the API's amounts are USD).

const number = (digits: number) =>
  new Intl.NumberFormat("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function formatNumber(value: number, digits = 0): string {
  return number(digits).format(value);
}

/** "1,234.50 USD"-style amounts from the API's decimal strings or numbers, as "$1,234.50". */
export function formatUsd(value: string | number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || value === "") return "—";
  const n = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(n)) return "—";
  return new Intl.NumberFormat("en-US", {
    style: "currency", currency: "USD", maximumFractionDigits: digits, minimumFractionDigits: digits,
  }).format(n);
}

/** Watts as megawatts: "12.34 MW". */
export function formatMw(watts: number | null | undefined, digits = 2): string {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) return "—";
  return `${formatNumber(watts / 1e6, digits)} MW`;
}

export function formatPercent(fraction: number | null | undefined, digits = 0): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return "—";
  return `${formatNumber(fraction * 100, digits)} %`;
}

/** hh:mm:ss in the viewer's time zone (24-hour clock). */
export function formatClock(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
}

/** A short date and time: "3 Jan, 14:05". */
export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "—";
  return d.toLocaleString("en-GB", { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hour12: false });
}

/** Watts in the unit that reads best: "12.34 MW" from a megawatt up, else "740.5 kW". */
export function formatPower(watts: number | null | undefined): string {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) return "—";
  return Math.abs(watts) >= 1e6 ? formatMw(watts) : `${formatNumber(watts / 1e3, 1)} kW`;
}
