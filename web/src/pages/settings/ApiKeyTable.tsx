// API keys as a table (name, hint, scopes, dates, state) with Revoke behind a confirmation: the
// caller's own in Settings, any user's in Administration.
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import { useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { ConfirmDialog } from "../admin/ConfirmDialog";
import { formatTimestamp, keyStatus } from "../admin/format";
import { useApiKeys, useRevokeApiKey, type ApiKey } from "../admin/queries";

const COLUMNS = ["Name", "Key", "Scopes", "Created", "Expires", "Last used", "State", "Actions"];

export function ApiKeyTable({ userId, label, whose }: {
  /** null: the caller's own keys */
  userId: string | null;
  /** the table's accessible name */
  label: string;
  /** in the confirmation: "your" or "ops@mara.com's" */
  whose: string;
}) {
  const keys = useApiKeys(userId);
  const revoke = useRevokeApiKey();
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  if (keys.error) return <ErrorAlert error={keys.error} title="Could not load the API keys" onRetry={() => void keys.refetch()} />;
  const items = keys.data?.items;
  return (
    <>
      <Paper variant="outlined">
        {/* focusable, so that a table wider than the screen scrolls by keyboard too */}
        <TableContainer tabIndex={0} role="group" aria-label={`${label}, scrollable`}>
          <Table size="small" aria-label={label} aria-busy={items === undefined || undefined}>
            <TableHead>
              <TableRow>{COLUMNS.map((c) => <TableCell key={c} component="th" scope="col">{c}</TableCell>)}</TableRow>
            </TableHead>
            <TableBody>
              {items === undefined ? (
                <TableRow>
                  <TableCell colSpan={COLUMNS.length}>
                    <div role="status" aria-label="Loading the API keys"><Skeleton variant="text" /><Skeleton variant="text" /></div>
                  </TableCell>
                </TableRow>
              ) : items.length === 0 ? (
                <TableRow><TableCell colSpan={COLUMNS.length}>No API keys.</TableCell></TableRow>
              ) : (
                items.map((k) => {
                  const state = keyStatus(k);
                  return (
                    <TableRow key={k.id} hover>
                      <TableCell component="th" scope="row">{k.name}</TableCell>
                      <TableCell><code>{k.hint}</code></TableCell>
                      <TableCell>{k.scopes.join(", ")}</TableCell>
                      <TableCell>{formatTimestamp(k.created_at)}</TableCell>
                      <TableCell>{k.expires_at ? formatTimestamp(k.expires_at) : "Never"}</TableCell>
                      <TableCell>{k.last_used_at ? formatTimestamp(k.last_used_at) : "Never"}</TableCell>
                      <TableCell>
                        <Chip size="small" label={state} color={state === "Active" ? "success" : "default"}
                          variant={state === "Active" ? "filled" : "outlined"} />
                      </TableCell>
                      <TableCell>
                        {state === "Revoked" ? null : (
                          <Button size="small" color="error" aria-label={`Revoke ${k.name}`}
                            onClick={() => { revoke.reset(); setRevoking(k); }}>
                            Revoke
                          </Button>
                        )}
                      </TableCell>
                    </TableRow>
                  );
                })
              )}
            </TableBody>
          </Table>
        </TableContainer>
      </Paper>
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke the API key ${revoking?.name ?? ""}?`}
        confirmLabel="Revoke key"
        pending={revoke.isPending}
        error={revoke.error}
        onClose={() => setRevoking(null)}
        onConfirm={() => revoking && revoke.mutate(revoking.id, { onSuccess: () => setRevoking(null) })}
      >
        It stops working at once: every script or service using {whose} key {revoking ? <code>{revoking.hint}</code> : null} is
        refused from now on. This cannot be undone; create a new key to replace it.
      </ConfirmDialog>
    </>
  );
}
