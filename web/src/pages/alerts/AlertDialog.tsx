// One alert in a dialog (`/app/alerts?id=<id>`, where a notification's "View alert" leads): what
// is wrong with what, who acknowledged and resolved it when, its details; Acknowledge and Resolve.
// Kept current by the live `alert.*` events (cache.ts patches the alert's detail query).
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Typography from "@mui/material/Typography";
import { useId, type ReactNode } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import type { AlertView } from "../../live/types";
import { actor, detailLabel, detailValue, ruleTitle, STATUS_LABELS, subjectText } from "./alertText";
import { SeverityChip, StatusChip, When } from "./AlertParts";
import { useAlert, useAlertAction } from "./queries";

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <Typography component="dt" variant="body2" sx={{ color: "text.secondary", fontWeight: 600 }}>{label}</Typography>
      <Typography component="dd" variant="body2" sx={{ m: 0 }}>{children}</Typography>
    </>
  );
}

function Body({ alert, customer }: { alert: AlertView; customer: string | undefined }) {
  const details = Object.entries(alert.details ?? {});
  return (
    <Stack spacing={2}>
      <Stack direction="row" spacing={1} sx={{ alignItems: "center", flexWrap: "wrap" }}>
        <SeverityChip severity={alert.severity} />
        <StatusChip status={alert.status} />
        <Typography variant="body2" sx={{ color: "text.secondary" }}>
          Status: {STATUS_LABELS[alert.status] ?? alert.status}
        </Typography>
      </Stack>
      <Typography variant="body1">{alert.message}</Typography>
      <Box component="dl" sx={{ m: 0, display: "grid", gridTemplateColumns: "max-content 1fr", columnGap: 2, rowGap: 0.75 }}>
        <Row label="About">{subjectText(alert, customer)}</Row>
        <Row label="Customer">{customer ?? (alert.tenant_id ? alert.tenant_id : "— (fleet)")}</Row>
        <Row label="Raised"><When iso={alert.raised_at} /></Row>
        <Row label="Acknowledged">
          <When iso={alert.acked_at} /> {actor(alert.acked_by)}
        </Row>
        <Row label="Resolved">
          <When iso={alert.resolved_at} /> {actor(alert.resolved_by)}
        </Row>
        <Row label="Last change"><When iso={alert.updated_at} /></Row>
        {details.map(([k, v]) => <Row key={k} label={detailLabel(k)}>{detailValue(v)}</Row>)}
      </Box>
    </Stack>
  );
}

export interface AlertDialogProps {
  id: string | undefined;
  /** the alert as the list has it: shown until the detail arrives */
  initial?: AlertView;
  customerName: (tenantId: string | null) => string | undefined;
  canResolve: boolean;
  onClose: () => void;
}

export function AlertDialog({ id, initial, customerName, canResolve, onClose }: AlertDialogProps) {
  const titleId = useId();
  const query = useAlert(id);
  const action = useAlertAction();
  const alert = query.data ?? initial;
  const busy = action.isPending;
  const close = () => {
    action.reset();
    onClose();
  };

  return (
    <Dialog open={id !== undefined} onClose={close} aria-labelledby={titleId} fullWidth maxWidth="sm">
      <DialogTitle id={titleId}>{alert ? `Alert: ${ruleTitle(alert.rule)}` : "Alert"}</DialogTitle>
      <DialogContent>
        {alert ? (
          <Body alert={alert} customer={customerName(alert.tenant_id)} />
        ) : query.error ? (
          <ErrorAlert error={query.error} title="Could not load the alert" onRetry={() => void query.refetch()} />
        ) : (
          <Box role="status" aria-label="Loading the alert">
            <Skeleton variant="text" width="60%" />
            <Skeleton variant="rectangular" height={120} />
          </Box>
        )}
        <ErrorAlert error={action.error} title="The alert did not change" sx={{ mt: 2 }} />
      </DialogContent>
      <DialogActions>
        {alert && alert.status === "open" ? (
          <Button variant="contained" disabled={busy} onClick={() => action.mutate({ id: alert.id, action: "ack" })}>
            Acknowledge
          </Button>
        ) : null}
        {alert && canResolve && alert.status !== "resolved" ? (
          <Button variant="outlined" disabled={busy} onClick={() => action.mutate({ id: alert.id, action: "resolve" })}>
            Resolve
          </Button>
        ) : null}
        <Button onClick={close}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}

export default AlertDialog;
