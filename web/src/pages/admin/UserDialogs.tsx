// The users page's forms: create a user (a customer with their tenant), change a role. The API's
// 422 shows under the field it names; anything else above the buttons.
import Dialog from "@mui/material/Dialog";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import Stack from "@mui/material/Stack";
import TextField from "@mui/material/TextField";
import { useId, useState, type FormEvent } from "react";
import { ROLE_LABELS } from "../../shell/nav";
import { fieldError } from "./format";
import { ROLES, useCreateUser, useUpdateUser, type Role, type Tenant, type User } from "./queries";
import { OtherErrors, SubmitActions } from "./FormParts";

function RoleSelect({ value, onChange, error }: { value: Role; onChange: (r: Role) => void; error?: string }) {
  return (
    <TextField select label="Role" value={value} onChange={(e) => onChange(e.target.value as Role)} required
      error={!!error} helperText={error} slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}>
      {ROLES.map((r) => <option key={r} value={r}>{ROLE_LABELS[r]}</option>)}
    </TextField>
  );
}

function TenantSelect({ value, onChange, tenants, error }: {
  value: string; onChange: (id: string) => void; tenants: readonly Tenant[]; error?: string;
}) {
  return (
    <TextField select label="Customer" value={value} onChange={(e) => onChange(e.target.value)} required
      error={!!error} helperText={error ?? "The tenant whose data this user sees"}
      slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}>
      <option value="">Choose a customer…</option>
      {tenants.map((t) => <option key={t.id} value={t.id}>{t.name} ({t.slug})</option>)}
    </TextField>
  );
}

export function CreateUserDialog({ open, onClose, onCreated, tenants }: {
  open: boolean; onClose: () => void; onCreated: (u: User) => void; tenants: readonly Tenant[];
}) {
  const titleId = useId();
  const create = useCreateUser();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState<Role>("customer");
  const [tenantId, setTenantId] = useState("");

  const close = () => {
    create.reset();
    setEmail("");
    setPassword("");
    setRole("customer");
    setTenantId("");
    onClose();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { email, password, role, tenant_id: role === "customer" ? tenantId || null : null },
      { onSuccess: (u) => { onCreated(u); close(); } },
    );
  };
  const err = create.error;
  return (
    <Dialog open={open} onClose={create.isPending ? undefined : close} aria-labelledby={titleId} fullWidth maxWidth="sm">
      <form onSubmit={submit} noValidate>
        <DialogTitle id={titleId}>Create user</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ pt: 1 }}>
            <TextField label="Email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required
              autoComplete="off" error={!!fieldError(err, "email")} helperText={fieldError(err, "email")} autoFocus />
            <TextField label="Initial password" type="password" value={password} onChange={(e) => setPassword(e.target.value)}
              required autoComplete="new-password" error={!!fieldError(err, "password")}
              helperText={fieldError(err, "password") ?? "At least 8 characters; tell the user to change it in Settings"} />
            <RoleSelect value={role} onChange={setRole} error={fieldError(err, "role")} />
            {role === "customer" ? (
              <TenantSelect value={tenantId} onChange={setTenantId} tenants={tenants} error={fieldError(err, "tenant_id")} />
            ) : null}
            <OtherErrors error={err} fields={["email", "password", "role", "tenant_id"]} />
          </Stack>
        </DialogContent>
        <SubmitActions onCancel={close} pending={create.isPending} label="Create user" />
      </form>
    </Dialog>
  );
}

export function ChangeRoleDialog({ user, onClose, tenants }: {
  user: User | null; onClose: () => void; tenants: readonly Tenant[];
}) {
  const titleId = useId();
  const update = useUpdateUser();
  const [role, setRole] = useState<Role>(user?.role ?? "operator");
  const [tenantId, setTenantId] = useState(user?.tenant_id ?? "");
  const [shown, setShown] = useState<User | null>(user);
  if (user !== shown) {
    // another user (or the dialog reopened): start from their current role
    setShown(user);
    setRole(user?.role ?? "operator");
    setTenantId(user?.tenant_id ?? "");
    update.reset();
  }
  const close = () => {
    update.reset();
    onClose();
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!user) return;
    const changes = role === "customer" ? { role, tenant_id: tenantId || null } : { role };
    update.mutate({ id: user.id, changes }, { onSuccess: close });
  };
  const err = update.error;
  return (
    <Dialog open={user !== null} onClose={update.isPending ? undefined : close} aria-labelledby={titleId} fullWidth maxWidth="sm">
      <form onSubmit={submit} noValidate>
        <DialogTitle id={titleId}>Change the role of {user?.email}</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ pt: 1 }}>
            <RoleSelect value={role} onChange={setRole} error={fieldError(err, "role")} />
            {role === "customer" ? (
              <TenantSelect value={tenantId} onChange={setTenantId} tenants={tenants} error={fieldError(err, "tenant_id")} />
            ) : null}
            <OtherErrors error={err} fields={["role", "tenant_id"]} />
          </Stack>
        </DialogContent>
        <SubmitActions onCancel={close} pending={update.isPending} label="Save role" />
      </form>
    </Dialog>
  );
}
