// Small pieces of the Workloads page: the status chip, with a tone per lifecycle state.
import Chip from "@mui/material/Chip";
import { label, type WorkloadStatus } from "./filters";

type Tone = "default" | "success" | "warning" | "error" | "info" | "primary";

const STATUS_TONE: Record<WorkloadStatus, Tone> = {
  submitted: "default", queued: "warning", scheduled: "info", switching: "info", running: "success",
  preempted: "warning", completed: "primary", failed: "error", cancelled: "default",
};

export function StatusChip({ status }: { status: WorkloadStatus }) {
  return <Chip size="small" variant="outlined" color={STATUS_TONE[status] ?? "default"} label={label(status)} />;
}
