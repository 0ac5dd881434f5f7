// The confirmation before a command reaches a unit: a titled Dialog saying what will happen, the
// power target's field where the command takes one, and the API's refusal with its field named.
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogContentText from "@mui/material/DialogContentText";
import DialogTitle from "@mui/material/DialogTitle";
import TextField from "@mui/material/TextField";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { ApiError, api, call, type Schemas } from "../../api/client";
import { ErrorAlert } from "../../components/ErrorAlert";
import { queryKeys } from "../../live/cache";
import { parsePowerTarget, type UnitCommand } from "./commands";

export interface CommandDialogProps {
  unit: Pick<Schemas["UnitOut"], "id" | "nominal">;
  command: UnitCommand | null;
  onClose: () => void;
  /** after the unit took the command: what it is now */
  onDone: (result: Schemas["CommandOut"], command: UnitCommand) => void;
}

export function CommandDialog({ unit, command, onClose, onDone }: CommandDialogProps) {
  const client = useQueryClient();
  const titleId = useId();
  const textId = useId();
  const [power, setPower] = useState(() => (unit.nominal.power_w ? String(Math.round(unit.nominal.power_w)) : ""));
  const [powerError, setPowerError] = useState<string | null>(null);
  const mutation = useMutation({
    mutationFn: (body: Schemas["CommandIn"]) =>
      call(api.POST("/api/v1/resources/{unit_id}/commands", { params: { path: { unit_id: unit.id } }, body })),
    onSuccess: (result) => {
      client.setQueryData(queryKeys.unit(unit.id), result.unit);
      void client.invalidateQueries({ queryKey: queryKeys.unitLists });
      onDone(result, command!);
    },
  });

  const close = () => {
    if (mutation.isPending) return;
    mutation.reset();
    setPowerError(null);
    onClose();
  };

  const confirm = () => {
    if (!command) return;
    const body: Schemas["CommandIn"] = { action: command.action };
    if (command.needsPower) {
      const parsed = parsePowerTarget(power);
      if ("error" in parsed) {
        setPowerError(parsed.error);
        return;
      }
      body.power_target_w = parsed.value;
    }
    setPowerError(null);
    mutation.mutate(body, { onSuccess: () => mutation.reset() });
  };

  const apiFieldError = mutation.error instanceof ApiError && mutation.error.field === "power_target_w"
    ? mutation.error.fields.find((f) => f.field === "power_target_w")?.message : undefined;

  return (
    <Dialog open={command !== null} onClose={close} aria-labelledby={titleId} aria-describedby={textId} maxWidth="sm" fullWidth>
      {command ? (
        <>
          <DialogTitle id={titleId}>{command.title(unit.id)}</DialogTitle>
          <DialogContent>
            <DialogContentText id={textId}>{command.consequence}</DialogContentText>
            {command.needsPower ? (
              <TextField autoFocus margin="normal" fullWidth type="number" label="Power target (W)" value={power}
                onChange={(e) => setPower(e.target.value)} error={Boolean(powerError ?? apiFieldError)}
                helperText={powerError ?? apiFieldError ?? (unit.nominal.power_w ? `Nominal ${Math.round(unit.nominal.power_w)} W` : "In watts")}
                slotProps={{ htmlInput: { min: 1, max: 100000, step: 10, name: "power_target_w" } }}
                onKeyDown={(e) => { if (e.key === "Enter") confirm(); }} />
            ) : null}
            <ErrorAlert error={mutation.error} title={`${unit.id} did not take the command`} sx={{ mt: 2 }} />
          </DialogContent>
          <DialogActions>
            <Button onClick={close} disabled={mutation.isPending}>Cancel</Button>
            <Button variant="contained" onClick={confirm} disabled={mutation.isPending}
              color={command.key === "curtail" ? "warning" : "primary"} autoFocus={!command.needsPower}>
              {mutation.isPending ? "Sending…" : command.label}
            </Button>
          </DialogActions>
        </>
      ) : null}
    </Dialog>
  );
}
