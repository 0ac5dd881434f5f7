// Small pieces the resources pages share: state chips, number formats of readings, the queries
// of facilities and racks.
import Chip from "@mui/material/Chip";
import { useQuery } from "@tanstack/react-query";
import { api, call, type Schemas } from "../../api/client";
import { formatNumber } from "../dashboard/format";

type Tone = "default" | "success" | "warning" | "error" | "info" | "primary";

const STATUS_TONE: Record<Schemas["UnitStatus"], Tone> = {
  online: "success", offline: "error", maintenance: "default", switching: "info",
};
const HEALTH_TONE: Record<Schemas["Health"], Tone> = { ok: "success", warning: "warning", critical: "error" };
const MODE_TONE: Record<Schemas["UnitMode"], Tone> = {
  mining: "primary", curtailed: "warning", workload: "info", spot: "info", idle: "default", unknown: "default",
};

export function label(value: string): string {
  const text = value.replace(/_/g, " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function StateChip({ kind, value }: { kind: "status" | "health" | "mode"; value: string }) {
  const tones: Record<string, Tone> = kind === "status" ? STATUS_TONE : kind === "health" ? HEALTH_TONE : MODE_TONE;
  return <Chip size="small" variant="outlined" color={tones[value] ?? "default"} label={label(value)} />;
}

/** Watts as kW: "3.42 kW". */
export function formatKw(watts: number | null | undefined, digits = 2): string {
  if (watts === null || watts === undefined || !Number.isFinite(watts)) return "—";
  return `${formatNumber(watts / 1000, digits)} kW`;
}

/** The column "Hashrate or GPU use": TH/s for a miner, utilisation for a GPU. */
export function workRate(unit: Pick<Schemas["UnitOut"], "kind" | "reading">): string {
  if (unit.kind === "asic") {
    const h = unit.reading.hashrate_ths;
    return h === undefined ? "—" : `${formatNumber(h, 1)} TH/s`;
  }
  const u = unit.reading.util_pct;
  return u === undefined ? "—" : `${formatNumber(u, 0)} % GPU`;
}

export function placeOf(unit: Pick<Schemas["UnitOut"], "facility_id" | "rack_id">): string {
  if (!unit.facility_id) return "Unplaced";
  return unit.rack_id ? `${unit.facility_id} / ${unit.rack_id}` : unit.facility_id;
}

export const facilitiesKey = ["resources", "facilities"] as const;

export function useFacilities() {
  return useQuery({
    queryKey: facilitiesKey,
    queryFn: () => call(api.GET("/api/v1/facilities")),
    staleTime: 5 * 60_000,
  });
}

export function useRacks(facilityId: string | undefined) {
  return useQuery({
    queryKey: ["resources", "racks", facilityId ?? null],
    queryFn: () => call(api.GET("/api/v1/facilities/{facility_id}/racks", { params: { path: { facility_id: facilityId! } } })),
    enabled: Boolean(facilityId),
    staleTime: 5 * 60_000,
  });
}
