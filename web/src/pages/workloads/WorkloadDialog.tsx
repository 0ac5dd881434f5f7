// One workload in a dialog (`/app/workloads?id=<id>`): what it asked for, where it runs, its state
// timeline (history), the switches of its GPUs with their phases, and Cancel behind a confirmation
// naming the consequence. Kept current by `workload.state` events (cache.ts patches its detail).
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import Typography from "@mui/material/Typography";
import { useId, useState, type ReactNode } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { ConfirmDialog } from "../admin/ConfirmDialog";
import { formatDateTime, formatNumber } from "../dashboard/format";
import { CANCELLABLE, TYPE_LABELS, formatMs, formatWait, label } from "./filters";
import { useCancelWorkload, useWorkload, useWorkloadSwitches, type SwitchRecord, type Workload } from "./queries";
import { StatusChip } from "./WorkloadParts";

function Row({ label: name, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <Typography component="dt" variant="body2" sx={{ color: "text.secondary", fontWeight: 600 }}>{name}</Typography>
      <Typography component="dd" variant="body2" sx={{ m: 0 }}>{children}</Typography>
    </>
  );
}

/** "save state 50.0 ms, clear memory 80.0 ms, …" in the phases' order. */
export function phasesText(phases: SwitchRecord["phases"]): string {
  const entries = Object.entries(phases);
  if (entries.length === 0) return "—";
  return entries.map(([k, v]) => `${k.replace(/_ms$/, "").replace(/_/g, " ")} ${formatMs(v)}`).join(", ");
}

function Timeline({ history }: { history: { from: string | null; to: string; at: string; reason: string | null }[] }) {
  return (
    <Box component="ol" aria-label="State timeline" sx={{ m: 0, pl: 0, listStyle: "none" }}>
      {history.map((h, i) => (
        <Box component="li" key={`${h.at}-${i}`} sx={{ display: "flex", gap: 1.5, alignItems: "baseline", py: 0.5,
          borderLeft: 2, borderColor: "divider", pl: 1.5 }}>
          <Typography variant="body2" sx={{ minWidth: 110, color: "text.secondary" }}>{formatDateTime(h.at)}</Typography>
          <Typography variant="body2">
            <strong>{label(h.to)}</strong>{h.from ? ` (from ${h.from})` : ""}{h.reason ? `: ${h.reason}` : ""}
          </Typography>
        </Box>
      ))}
    </Box>
  );
}

function Switches({ workloadId }: { workloadId: string }) {
  const switches = useWorkloadSwitches(workloadId);
  if (switches.error) {
    return <ErrorAlert error={switches.error} title="Could not load the switches" onRetry={() => void switches.refetch()} />;
  }
  if (switches.isPending) return <Skeleton variant="rectangular" height={60} aria-label="Loading the switches" />;
  if (switches.data.items.length === 0) {
    return <Typography variant="body2" sx={{ color: "text.secondary" }}>No GPU has switched for this workload yet.</Typography>;
  }
  return (
    <TableContainer tabIndex={0} aria-label="Switches, scrollable" sx={{ maxHeight: 240 }}>
      <Table size="small" aria-label="Switches" stickyHeader>
        <TableHead>
          <TableRow>
            <TableCell scope="col">When</TableCell>
            <TableCell scope="col">Unit</TableCell>
            <TableCell scope="col">Direction</TableCell>
            <TableCell scope="col">Phases</TableCell>
            <TableCell scope="col" align="right">Latency</TableCell>
          </TableRow>
        </TableHead>
        <TableBody>
          {switches.data.items.map((s) => (
            <TableRow key={s.id}>
              <TableCell>{formatDateTime(s.at)}</TableCell>
              <TableCell>{s.unit_id}</TableCell>
              <TableCell>{s.to === workloadId ? "In" : "Out"}</TableCell>
              <TableCell>{phasesText(s.phases)}</TableCell>
              <TableCell align="right">{formatMs(s.latency_ms)}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

function Body({ workload, customer, history }: {
  workload: Workload; customer: string; history: Parameters<typeof Timeline>[0]["history"] | undefined;
}) {
  return (
    <Stack spacing={2}>
      <Stack direction="row" spacing={1} sx={{ alignItems: "center", flexWrap: "wrap" }}>
        <StatusChip status={workload.status} />
        <Chip size="small" label={TYPE_LABELS[workload.type]} />
        {workload.preemptible ? <Chip size="small" variant="outlined" label="Preemptible" /> : null}
      </Stack>
      <Box component="dl" sx={{ m: 0, display: "grid", gridTemplateColumns: "max-content 1fr", columnGap: 2, rowGap: 0.75 }}>
        <Row label="ID">{workload.id}</Row>
        <Row label="Customer">{customer}</Row>
        <Row label="GPUs">{`${workload.gpu_count} × ${workload.gpu_model}`}</Row>
        <Row label="Priority">{workload.priority}</Row>
        <Row label="Duration">{formatWait(workload.duration_s)}</Row>
        <Row label="Runs on">
          {workload.units.length ? `${workload.facility_id ?? "—"}: ${workload.units.join(", ")}` : "—"}
        </Row>
        <Row label="Submitted">{formatDateTime(workload.submitted_at)}</Row>
        <Row label="Started">{formatDateTime(workload.started_at)}</Row>
        <Row label="Finished">{formatDateTime(workload.finished_at)}</Row>
        {workload.wait_reason ? <Row label="Waiting because">{workload.wait_reason}</Row> : null}
        {workload.failure_reason ? <Row label="Failed because">{workload.failure_reason}</Row> : null}
        {workload.preemptions ? <Row label="Preemptions">{formatNumber(workload.preemptions)}</Row> : null}
      </Box>
      <Box component="section" aria-labelledby="workload-timeline-title">
        <Typography id="workload-timeline-title" variant="subtitle1" component="h3" sx={{ mb: 0.5 }}>Timeline</Typography>
        {history ? <Timeline history={history} /> : <Skeleton variant="rectangular" height={60} />}
      </Box>
      <Box component="section" aria-labelledby="workload-switches-title">
        <Typography id="workload-switches-title" variant="subtitle1" component="h3" sx={{ mb: 0.5 }}>GPU switches</Typography>
        <Switches workloadId={workload.id} />
      </Box>
    </Stack>
  );
}

export interface WorkloadDialogProps {
  id: string | undefined;
  /** the workload as the list has it: shown until the detail arrives */
  initial?: Workload;
  customerName: (tenantId: string) => string;
  onClose: () => void;
}

export function WorkloadDialog({ id, initial, customerName, onClose }: WorkloadDialogProps) {
  const titleId = useId();
  const query = useWorkload(id);
  const cancel = useCancelWorkload();
  const [confirming, setConfirming] = useState(false);
  const workload = query.data ?? initial;
  const close = () => {
    cancel.reset();
    setConfirming(false);
    onClose();
  };
  const cancellable = workload !== undefined && CANCELLABLE.includes(workload.status);

  return (
    <>
      <Dialog open={id !== undefined && !confirming} onClose={close} aria-labelledby={titleId} fullWidth maxWidth="md">
        <DialogTitle id={titleId}>{workload ? `Workload ${workload.name}` : "Workload"}</DialogTitle>
        <DialogContent>
          {workload ? (
            <Body workload={workload} customer={customerName(workload.tenant_id)} history={query.data?.history} />
          ) : query.error ? (
            <ErrorAlert error={query.error} title="Could not load the workload" onRetry={() => void query.refetch()} />
          ) : (
            <Box role="status" aria-label="Loading the workload">
              <Skeleton variant="text" width="60%" />
              <Skeleton variant="rectangular" height={120} />
            </Box>
          )}
        </DialogContent>
        <DialogActions>
          {cancellable ? (
            <Button color="error" variant="outlined" onClick={() => setConfirming(true)}>Cancel workload</Button>
          ) : null}
          <Button onClick={close}>Close</Button>
        </DialogActions>
      </Dialog>
      {workload ? (
        <ConfirmDialog open={confirming} title={`Cancel ${workload.name}?`} confirmLabel="Cancel workload"
          pending={cancel.isPending} error={cancel.error}
          onClose={() => {
            cancel.reset();
            setConfirming(false);
          }}
          onConfirm={() => cancel.mutate(workload.id, { onSuccess: () => setConfirming(false) })}>
          {workload.units.length
            ? `It stops now and gives back its ${workload.gpu_count} GPU${workload.gpu_count === 1 ? "" : "s"}; its work so far is not kept. `
            : "It leaves the queue and will not run. "}
          {customerName(workload.tenant_id)} would have to submit it again: this cannot be undone.
        </ConfirmDialog>
      ) : null}
    </>
  );
}

export default WorkloadDialog;
