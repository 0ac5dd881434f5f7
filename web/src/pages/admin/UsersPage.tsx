// Administration > Users: who may sign in, with which role and (customers) for which tenant.
// Create, change role, disable (confirmed: it ends their sessions) and enable. Filters and paging
// in the URL.
import Button from "@mui/material/Button";
import Chip from "@mui/material/Chip";
import Stack from "@mui/material/Stack";
import TableCell from "@mui/material/TableCell";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import PersonAdd from "@mui/icons-material/PersonAddOutlined";
import { useState } from "react";
import { useSearchParams } from "react-router";
import { useAuth } from "../../auth/AuthProvider";
import { ErrorAlert } from "../../components/ErrorAlert";
import { ROLE_LABELS } from "../../shell/nav";
import { usePageTitle } from "../../shell/usePageTitle";
import { AdminTable } from "./AdminTable";
import { ConfirmDialog } from "./ConfirmDialog";
import { formatDate } from "./format";
import { ROLES, useTenants, useUpdateUser, useUsers, type User } from "./queries";
import { ChangeRoleDialog, CreateUserDialog } from "./UserDialogs";
import { pageQuery, readEnum, readPaging, readText, withParams } from "./urlState";

export function usersQuery(sp: URLSearchParams) {
  return {
    role: readEnum(sp, "role", ROLES),
    tenant_id: readText(sp, "tenant", 32),
    ...pageQuery(readPaging(sp)),
  };
}

export default function UsersPage() {
  usePageTitle("Users");
  const { user: me } = useAuth();
  const [sp, setSp] = useSearchParams();
  const query = usersQuery(sp);
  const users = useUsers(query);
  const tenants = useTenants();
  const tenantList = tenants.data?.items ?? [];
  const tenantName = new Map(tenantList.map((t) => [t.id, t.name]));
  const update = useUpdateUser();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<User | null>(null);
  const [roleOf, setRoleOf] = useState<User | null>(null);
  const [disabling, setDisabling] = useState<User | null>(null);

  const rows = users.data?.items.map((u) => (
    <TableRow key={u.id} hover>
      <TableCell component="th" scope="row">{u.email}</TableCell>
      <TableCell>{ROLE_LABELS[u.role]}</TableCell>
      <TableCell>{u.tenant_id ? (tenantName.get(u.tenant_id) ?? u.tenant_id) : "—"}</TableCell>
      <TableCell>
        <Chip size="small" label={u.is_active ? "Active" : "Disabled"} color={u.is_active ? "success" : "default"}
          variant={u.is_active ? "filled" : "outlined"} />
      </TableCell>
      <TableCell>{formatDate(u.created_at)}</TableCell>
      <TableCell>
        <Stack direction="row" spacing={1}>
          <Button size="small" onClick={() => setRoleOf(u)} aria-label={`Change role of ${u.email}`}>Change role</Button>
          {u.id === me?.id ? null : u.is_active ? (
            <Button size="small" color="error" onClick={() => { update.reset(); setDisabling(u); }} aria-label={`Disable ${u.email}`}>
              Disable
            </Button>
          ) : (
            <Button size="small" onClick={() => update.mutate({ id: u.id, changes: { is_active: true } })}
              disabled={update.isPending} aria-label={`Enable ${u.email}`}>
              Enable
            </Button>
          )}
        </Stack>
      </TableCell>
    </TableRow>
  ));

  return (
    <Stack spacing={2}>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap" }}>
        <Typography variant="h4" component="h1">Users</Typography>
        <Button variant="contained" startIcon={<PersonAdd />} sx={{ ml: "auto" }} onClick={() => setCreating(true)}>
          Create user
        </Button>
      </Stack>
      <Typography sx={{ color: "text.secondary" }}>
        Staff (admins, operators) run the platform; customers see their own tenant only. Disabling a user signs them out
        everywhere at once.
      </Typography>

      <Stack direction={{ xs: "column", sm: "row" }} spacing={2} component="form" aria-label="Filter users"
        onSubmit={(e) => e.preventDefault()}>
        <TextField select label="Role" size="small" value={query.role ?? ""} sx={{ minWidth: 180 }}
          onChange={(e) => setSp(withParams(sp, { role: e.target.value }))}
          slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}>
          <option value="">All roles</option>
          {ROLES.map((r) => <option key={r} value={r}>{ROLE_LABELS[r]}</option>)}
        </TextField>
        <TextField select label="Customer" size="small" value={query.tenant_id ?? ""} sx={{ minWidth: 220 }}
          onChange={(e) => setSp(withParams(sp, { tenant: e.target.value }))}
          slotProps={{ select: { native: true }, inputLabel: { shrink: true } }}>
          <option value="">All customers</option>
          {tenantList.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
        </TextField>
      </Stack>

      {created ? (
        <Typography role="status" sx={{ color: "success.main" }}>Created {created.email}.</Typography>
      ) : null}
      {update.error && !disabling ? (
        <ErrorAlert error={update.error} title="Could not change the user" />
      ) : null}

      <AdminTable label="Users" columns={["Email", "Role", "Customer", "Status", "Created", "Actions"]}
        rows={rows} error={users.error} onRetry={() => void users.refetch()} total={users.data?.total}
        stale={users.isPlaceholderData} empty="No user matches these filters." />

      <CreateUserDialog open={creating} onClose={() => setCreating(false)} onCreated={setCreated} tenants={tenantList} />
      <ChangeRoleDialog user={roleOf} onClose={() => setRoleOf(null)} tenants={tenantList} />
      <ConfirmDialog
        open={disabling !== null}
        title={`Disable ${disabling?.email ?? ""}?`}
        confirmLabel="Disable user"
        pending={update.isPending}
        error={update.error}
        onClose={() => setDisabling(null)}
        onConfirm={() => disabling && update.mutate({ id: disabling.id, changes: { is_active: false } },
          { onSuccess: () => setDisabling(null) })}
      >
        They are signed out at once, cannot sign in, and their API keys stop working until you enable them again.
        Their data and history are kept.
      </ConfirmDialog>
    </Stack>
  );
}
