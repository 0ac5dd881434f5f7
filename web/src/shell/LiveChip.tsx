// The live connection's state in the top bar: accessible name "Live updates: <state>", announced
// politely when it changes (role="status").
import Chip from "@mui/material/Chip";
import FiberManualRecord from "@mui/icons-material/FiberManualRecord";
import { useLiveStatus } from "../live/status";

const LOOK = {
  live: { text: "Live", color: "success" },
  connecting: { text: "Connecting…", color: "default" },
  reconnecting: { text: "Reconnecting…", color: "warning" },
  offline: { text: "Offline", color: "error" },
} as const;

export function LiveChip() {
  const status = useLiveStatus();
  const look = LOOK[status];
  return (
    <Chip
      role="status"
      aria-label={`Live updates: ${status}`}
      title={`Live updates: ${status}`}
      size="small"
      variant="outlined"
      // the dot carries the colour; the text stays in the text colour (AA on any background)
      icon={
        <FiberManualRecord
          aria-hidden
          sx={{ fontSize: 12, "&&": { color: look.color === "default" ? "text.secondary" : `${look.color}.main` } }}
        />
      }
      label={look.text}
      data-state={status}
    />
  );
}
