// The parts every create/edit dialog and form of the admin and settings pages shares: the errors
// not already shown beside a field, and the Cancel + submit buttons.
import Button from "@mui/material/Button";
import DialogActions from "@mui/material/DialogActions";
import type { SxProps, Theme } from "@mui/material/styles";
import { ErrorAlert } from "../../components/ErrorAlert";
import { onlyFieldErrors } from "./format";

/** The API's error, unless every field it names is shown beside its own input already. */
export function OtherErrors({ error, fields, sx }: { error: unknown; fields: readonly string[]; sx?: SxProps<Theme> }) {
  return error && !onlyFieldErrors(error, fields) ? <ErrorAlert error={error} sx={sx} /> : null;
}

/** Cancel and the form's submit button, both disabled while the request is in flight. */
export function SubmitActions({ onCancel, pending, label }: { onCancel: () => void; pending: boolean; label: string }) {
  return (
    <DialogActions>
      <Button onClick={onCancel} disabled={pending}>Cancel</Button>
      <Button type="submit" variant="contained" disabled={pending}>{label}</Button>
    </DialogActions>
  );
}
