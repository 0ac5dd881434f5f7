// Create an API key of one's own: name, scopes (at most the role's), expiry. The answer carries the
// secret this once: the dialog then shows it with a copy button and a warning, until closed.
import Alert from "@mui/material/Alert";
import Button from "@mui/material/Button";
import Checkbox from "@mui/material/Checkbox";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import FormControl from "@mui/material/FormControl";
import FormControlLabel from "@mui/material/FormControlLabel";
import FormGroup from "@mui/material/FormGroup";
import FormHelperText from "@mui/material/FormHelperText";
import FormLabel from "@mui/material/FormLabel";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import { useId, useState, type FormEvent } from "react";
import type { Role } from "../../auth/session";
import { fieldError } from "../admin/format";
import { useCreateApiKey, type ApiKeyCreated } from "../admin/queries";
import { OtherErrors, SubmitActions } from "../admin/FormParts";

type Scope = "read" | "write" | "admin";

export function scopesFor(role: Role): Scope[] {
  return role === "admin" ? ["read", "write", "admin"] : ["read", "write"];
}

const SCOPE_TEXT: Record<Scope, string> = {
  read: "read: see what your role may see",
  write: "write: submit, change and cancel as your role may",
  admin: "admin: manage users, customers and billing",
};

export function CreateApiKeyDialog({ open, onClose, role }: { open: boolean; onClose: () => void; role: Role }) {
  const titleId = useId();
  const create = useCreateApiKey();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Scope[]>(["read"]);
  const [days, setDays] = useState("90");
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);

  const close = () => {
    create.reset();
    setName(""); setScopes(["read"]); setDays("90"); setCreated(null); setCopied(null);
    onClose();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const n = days.trim() === "" ? null : Number(days);
    create.mutate(
      { name: name.trim(), scopes, expires_in_days: n !== null && Number.isFinite(n) ? n : null },
      { onSuccess: setCreated },
    );
  };
  const copy = async () => {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied("yes");
    } catch {
      setCopied("failed");
    }
  };
  const toggle = (s: Scope, on: boolean) => setScopes((prev) => (on ? [...prev, s] : prev.filter((x) => x !== s)));
  const err = create.error;
  const scopeError = fieldError(err, "scopes");

  return (
    <Dialog open={open} onClose={create.isPending ? undefined : created ? undefined : close} aria-labelledby={titleId}
      fullWidth maxWidth="sm">
      {created ? (
        <>
          <DialogTitle id={titleId}>Your new API key</DialogTitle>
          <DialogContent>
            <Stack spacing={2} sx={{ pt: 1 }}>
              <Alert severity="warning" role="alert">
                Copy this key now and keep it somewhere safe: it is shown this once and cannot be shown again.
              </Alert>
              <TextField label="API key" value={created.key} fullWidth
                slotProps={{ htmlInput: { readOnly: true, spellCheck: false, style: { fontFamily: "monospace" } } }}
                onFocus={(e) => e.target.select()} />
              <Stack direction="row" spacing={2} sx={{ alignItems: "center" }}>
                <Button variant="outlined" onClick={() => void copy()}>Copy key</Button>
                <span role="status">
                  {copied === "yes" ? "Copied to the clipboard." : copied === "failed" ? "Could not copy: select the key and copy it by hand." : ""}
                </span>
              </Stack>
              <FormHelperText>
                Send it as the header <code>X-API-Key</code>. Name: {created.name}; scopes: {created.scopes.join(", ")}.
              </FormHelperText>
            </Stack>
          </DialogContent>
          <DialogActions>
            <Button variant="contained" onClick={close}>I have copied it</Button>
          </DialogActions>
        </>
      ) : (
        <form onSubmit={submit} noValidate>
          <DialogTitle id={titleId}>Create API key</DialogTitle>
          <DialogContent>
            <Stack spacing={2} sx={{ pt: 1 }}>
              <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} required autoFocus
                error={!!fieldError(err, "name")} helperText={fieldError(err, "name") ?? "What uses it, e.g. Grafana export"} />
              <FormControl component="fieldset" error={!!scopeError}>
                <FormLabel component="legend">Scopes</FormLabel>
                <FormGroup>
                  {scopesFor(role).map((s) => (
                    <FormControlLabel key={s} label={SCOPE_TEXT[s]}
                      control={<Checkbox checked={scopes.includes(s)} onChange={(e) => toggle(s, e.target.checked)} />} />
                  ))}
                </FormGroup>
                {scopeError ? <FormHelperText>{scopeError}</FormHelperText> : null}
              </FormControl>
              <TextField label="Expires after (days)" value={days} onChange={(e) => setDays(e.target.value)} type="number"
                error={!!fieldError(err, "expires_in_days")}
                helperText={fieldError(err, "expires_in_days") ?? "1 to 3650; empty for a key that never expires"}
                slotProps={{ htmlInput: { min: 1, max: 3650 } }} />
              <OtherErrors error={err} fields={["name", "scopes", "expires_in_days"]} />
            </Stack>
          </DialogContent>
          <SubmitActions onCancel={close} pending={create.isPending} label="Create key" />
        </form>
      )}
    </Dialog>
  );
}
