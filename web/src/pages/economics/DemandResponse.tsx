// Demand-response windows: the list, a form to lower a facility's cap for a window (the API's 422
// shown beside the field it names), and cancel behind a confirmation.
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import { useState, type FormEvent } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { ConfirmDialog } from "../admin/ConfirmDialog";
import { OtherErrors } from "../admin/FormParts";
import { fieldError } from "../admin/format";
import { formatDateTime } from "../dashboard/format";
import { useFacilities } from "../resources/parts";
import { emptyWindow, formatKw, windowBody, windowState, type WindowForm } from "./logic";
import { useCancelWindow, useCreateWindow, useWindows, type DemandResponse } from "./queries";

const FIELDS = ["facility_id", "power_cap_kw", "starts_at", "ends_at", "reason"] as const;
const STATE_TONE = { "In force": "warning", Scheduled: "info", Ended: "default" } as const;

export function DemandResponseSection() {
  const windows = useWindows();
  const facilities = useFacilities();
  const cancel = useCancelWindow();
  const [cancelling, setCancelling] = useState<DemandResponse | null>(null);
  const names = new Map((facilities.data?.items ?? []).map((f) => [f.id, f.name]));
  const items = windows.data?.items;
  const closeCancel = () => {
    cancel.reset();
    setCancelling(null);
  };
  return (
    <Box component="section" aria-labelledby="dr-title" sx={{ display: "flex", flexDirection: "column", gap: 2 }}>
      <Typography id="dr-title" variant="h5" component="h2">Demand response</Typography>
      <Typography variant="body2" sx={{ color: "text.secondary" }}>
        A window lowers a facility&apos;s power cap (a grid operator&apos;s call, ERCOT 4CP). The planner replans at once
        when one in force is created or cancelled.
      </Typography>
      <WindowFormCard facilities={facilities.data?.items ?? []} />
      <ErrorAlert error={items ? null : windows.error} title="Could not load the windows" onRetry={() => void windows.refetch()} />
      <Paper variant="outlined">
        <TableContainer tabIndex={0} role="group" aria-label="Demand-response windows, scrollable">
          <Table size="small" aria-label="Demand-response windows" aria-busy={items === undefined || undefined}>
            <TableHead>
              <TableRow>
                {["Facility", "Cap", "Starts", "Ends", "Reason", "State", "Actions"].map((c) => (
                  <TableCell key={c} component="th" scope="col">{c}</TableCell>
                ))}
              </TableRow>
            </TableHead>
            <TableBody>
              {items === undefined ? (
                <TableRow><TableCell colSpan={7}>
                  <Box role="status" aria-label="Loading the windows"><Skeleton variant="text" /></Box>
                </TableCell></TableRow>
              ) : items.length === 0 ? (
                <TableRow><TableCell colSpan={7}>No demand-response windows.</TableCell></TableRow>
              ) : items.map((w) => {
                const state = windowState(w);
                const name = names.get(w.facility_id) ?? w.facility_id;
                return (
                  <TableRow key={w.id}>
                    <TableCell component="th" scope="row">{name}</TableCell>
                    <TableCell>{formatKw(w.power_cap_kw)}</TableCell>
                    <TableCell>{formatDateTime(w.starts_at)}</TableCell>
                    <TableCell>{formatDateTime(w.ends_at)}</TableCell>
                    <TableCell>{w.reason}</TableCell>
                    <TableCell><Chip size="small" variant="outlined" color={STATE_TONE[state]} label={state} /></TableCell>
                    <TableCell>
                      {state === "Ended" ? null : (
                        <Button size="small" color="error" onClick={() => setCancelling(w)}
                          aria-label={`Cancel the window at ${name}: ${w.reason}`}>Cancel window</Button>
                      )}
                    </TableCell>
                  </TableRow>
                );
              })}
            </TableBody>
          </Table>
        </TableContainer>
      </Paper>
      <ConfirmDialog open={cancelling !== null} title="Cancel this demand-response window?" confirmLabel="Cancel window"
        onClose={closeCancel} pending={cancel.isPending} error={cancel.error}
        onConfirm={() => cancelling && cancel.mutate(cancelling.id, { onSuccess: closeCancel })}>
        {cancelling ? (
          <>
            {names.get(cancelling.facility_id) ?? cancelling.facility_id} goes back to its own cap
            {windowState(cancelling) === "In force" ? " at once" : ""}: the {formatKw(cancelling.power_cap_kw)} limit
            for “{cancelling.reason}” is dropped.
          </>
        ) : null}
      </ConfirmDialog>
    </Box>
  );
}

function WindowFormCard({ facilities }: { facilities: readonly { id: string; name: string }[] }) {
  const create = useCreateWindow();
  const [form, setForm] = useState<WindowForm>(() => emptyWindow(new Date()));
  const [created, setCreated] = useState<string | null>(null);
  const set = (k: keyof WindowForm) => (e: { target: { value: string } }) => {
    setForm((f) => ({ ...f, [k]: e.target.value }));
    setCreated(null);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(windowBody(form), {
      onSuccess: (w) => {
        setCreated(`Window created: ${formatKw(w.power_cap_kw)} at ${facilities.find((f) => f.id === w.facility_id)?.name ?? w.facility_id}.`);
        setForm(emptyWindow(new Date(), form.facility_id));
      },
    });
  };
  const err = create.error;
  const fe = (f: (typeof FIELDS)[number]) => fieldError(err, f);
  return (
    <Paper variant="outlined" sx={{ p: 2 }}>
      <form onSubmit={submit} noValidate aria-labelledby="dr-form-title">
        <Typography id="dr-form-title" variant="h6" component="h3" sx={{ mb: 2 }}>New window</Typography>
        <Stack direction={{ xs: "column", md: "row" }} spacing={2} sx={{ flexWrap: "wrap", alignItems: "flex-start" }} useFlexGap>
          <TextField select label="Facility" value={form.facility_id} onChange={set("facility_id")} required
            error={!!fe("facility_id")} helperText={fe("facility_id")} sx={{ minWidth: 180 }}
            slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}>
            <option value="">Choose a facility…</option>
            {facilities.map((f) => <option key={f.id} value={f.id}>{f.name}</option>)}
          </TextField>
          <TextField label="Cap (kW)" type="number" value={form.power_cap_kw} onChange={set("power_cap_kw")} required
            error={!!fe("power_cap_kw")} helperText={fe("power_cap_kw")} sx={{ width: 140 }}
            slotProps={{ htmlInput: { min: 0, step: "any" } }} />
          <TextField label="Starts" type="datetime-local" value={form.starts_at} onChange={set("starts_at")} required
            error={!!fe("starts_at")} helperText={fe("starts_at")} slotProps={{ inputLabel: { shrink: true } }} />
          <TextField label="Ends" type="datetime-local" value={form.ends_at} onChange={set("ends_at")} required
            error={!!fe("ends_at")} helperText={fe("ends_at")} slotProps={{ inputLabel: { shrink: true } }} />
          <TextField label="Reason" value={form.reason} onChange={set("reason")} required
            error={!!fe("reason")} helperText={fe("reason")} sx={{ minWidth: 220 }} />
          <Button type="submit" variant="contained" disabled={create.isPending} sx={{ alignSelf: "center" }}>
            Create window
          </Button>
        </Stack>
        <OtherErrors error={err} fields={FIELDS} sx={{ mt: 2 }} />
        {created ? <Typography role="status" sx={{ mt: 1 }}>{created}</Typography> : null}
      </form>
    </Paper>
  );
}
