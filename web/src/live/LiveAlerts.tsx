// Notifications of raised alerts: at most 3 stacked (the newest on top), each with its severity,
// its message and a link "View alert"; dismissed with their close button or Escape. Critical ones
// stay until dismissed; the others go after AUTO_HIDE_MS, not while hovered or focused.
import Alert, { type AlertColor } from "@mui/material/Alert";
import AlertTitle from "@mui/material/AlertTitle";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import IconButton from "@mui/material/IconButton";
import Close from "@mui/icons-material/Close";
import { useCallback, useEffect, useRef, useState, type KeyboardEvent } from "react";
import { Link as RouterLink } from "react-router";
import { useLiveEvent } from "./status";
import type { AlertView } from "./types";

export const MAX_NOTIFICATIONS = 3;
export const AUTO_HIDE_MS = 15_000;

const SEVERITY: Record<AlertView["severity"], { color: AlertColor; label: string }> = {
  critical: { color: "error", label: "Critical alert" },
  warning: { color: "warning", label: "Warning" },
  info: { color: "info", label: "Notice" },
};

export function alertLink(id: string): string {
  return `/app/alerts?id=${encodeURIComponent(id)}`;
}

function Notification({ alert, onDismiss }: { alert: AlertView; onDismiss: (id: string) => void }) {
  const [paused, setPaused] = useState(false);
  const sticky = alert.severity === "critical";
  useEffect(() => {
    if (sticky || paused) return undefined;
    const timer = setTimeout(() => onDismiss(alert.id), AUTO_HIDE_MS);
    return () => clearTimeout(timer);
  }, [sticky, paused, alert.id, onDismiss]);
  const severity = SEVERITY[alert.severity] ?? SEVERITY.info;
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      onDismiss(alert.id);
    }
  };
  return (
    <Alert
      severity={severity.color}
      variant="filled"
      elevation={6}
      onKeyDown={onKeyDown}
      onMouseEnter={() => setPaused(true)}
      onMouseLeave={() => setPaused(false)}
      onFocus={() => setPaused(true)}
      onBlur={() => setPaused(false)}
      action={
        <>
          <Button component={RouterLink} to={alertLink(alert.id)} color="inherit" size="small"
            onClick={() => onDismiss(alert.id)}>
            View alert
          </Button>
          <IconButton aria-label="Dismiss notification" color="inherit" size="small" onClick={() => onDismiss(alert.id)}>
            <Close fontSize="small" />
          </IconButton>
        </>
      }
      sx={{ alignItems: "center", ".MuiAlert-action": { pt: 0 } }}
    >
      <AlertTitle>{severity.label}</AlertTitle>
      {alert.message}
    </Alert>
  );
}

export function LiveAlerts() {
  const [shown, setShown] = useState<AlertView[]>([]);
  const seen = useRef(new Set<string>()); // a replay after a reconnect does not notify twice

  useLiveEvent("alerts", (event) => {
    if (event.event !== "alert.raised" || seen.current.has(event.data.id)) return;
    seen.current.add(event.data.id);
    if (seen.current.size > 500) seen.current = new Set([...seen.current].slice(-250));
    setShown((list) => [event.data, ...list].slice(0, MAX_NOTIFICATIONS));
  });

  const dismiss = useCallback((id: string) => setShown((list) => list.filter((a) => a.id !== id)), []);

  if (shown.length === 0) return null;
  return (
    <Box
      component="section"
      aria-label="Notifications"
      sx={{
        position: "fixed", right: 16, bottom: 16, zIndex: (t) => t.zIndex.snackbar,
        display: "flex", flexDirection: "column", gap: 1, width: { xs: "calc(100% - 32px)", sm: 400 },
      }}
    >
      {shown.map((a) => <Notification key={a.id} alert={a} onDismiss={dismiss} />)}
    </Box>
  );
}
