// Settings (everyone signed in): your profile, your password, your API keys, and the platform's
// limits read-only (facilities' power caps; a customer's budget and its alert thresholds).
import Alert from "@mui/material/Alert";
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import Key from "@mui/icons-material/KeyOutlined";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent, type ReactNode } from "react";
import { api, call } from "../../api/client";
import { useAuth } from "../../auth/AuthProvider";
import type { Me } from "../../auth/session";
import { ErrorAlert } from "../../components/ErrorAlert";
import { useBudget } from "../../live/queries";
import { ROLE_LABELS } from "../../shell/nav";
import { usePageTitle } from "../../shell/usePageTitle";
import { formatNumber, formatUsd } from "../dashboard/format";
import { fieldError } from "../admin/format";
import { useFacilities } from "../admin/queries";
import { ApiKeyTable } from "./ApiKeyTable";
import { CreateApiKeyDialog } from "./CreateApiKeyDialog";
import { OtherErrors } from "../admin/FormParts";

function Section({ id, title, children, action }: { id: string; title: string; children: ReactNode; action?: ReactNode }) {
  return (
    <Paper component="section" aria-labelledby={id} variant="outlined" sx={{ p: { xs: 2, md: 3 } }}>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center", mb: 2 }}>
        <Typography id={id} variant="h6" component="h2">{title}</Typography>
        {action ? <Box sx={{ ml: "auto" }}>{action}</Box> : null}
      </Stack>
      {children}
    </Paper>
  );
}

function Field({ term, children }: { term: string; children: ReactNode }) {
  return (
    <Box sx={{ display: "grid", gridTemplateColumns: { xs: "1fr", sm: "10rem 1fr" }, gap: 1, py: 0.5 }}>
      <Typography component="dt" sx={{ color: "text.secondary" }}>{term}</Typography>
      <Typography component="dd" sx={{ m: 0 }}>{children}</Typography>
    </Box>
  );
}

function Profile({ user }: { user: Me }) {
  const tenant = useQuery({
    queryKey: ["auth", "tenants", "detail", user.tenant_id],
    queryFn: () => call(api.GET("/api/v1/auth/tenants/{tenant_id}", { params: { path: { tenant_id: user.tenant_id ?? "" } } })),
    enabled: !!user.tenant_id,
    staleTime: 5 * 60_000,
  });
  return (
    <Section id="settings-profile" title="Profile">
      <Box component="dl" sx={{ m: 0 }}>
        <Field term="Email">{user.email}</Field>
        <Field term="Role">{ROLE_LABELS[user.role]}</Field>
        {user.tenant_id ? (
          <Field term="Customer">{tenant.data ? `${tenant.data.name} (${tenant.data.slug})` : tenant.error ? user.tenant_id : "Loading…"}</Field>
        ) : null}
        <Field term="User ID"><code>{user.id}</code></Field>
      </Box>
      <Typography variant="body2" sx={{ color: "text.secondary", mt: 1 }}>
        Your e-mail address and role are changed by an administrator.
      </Typography>
    </Section>
  );
}

/** The form's own check before asking the API: the two new passwords must match. */
export function passwordMismatch(next: string, again: string): string | undefined {
  return again !== "" && next !== again ? "The two passwords differ" : undefined;
}

function ChangePassword() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [tried, setTried] = useState(false);
  const change = useMutation({
    mutationFn: (body: { current_password: string; new_password: string }) =>
      call(api.POST("/api/v1/auth/me/password", { body })),
    onSuccess: () => { setCurrent(""); setNext(""); setAgain(""); setTried(false); },
  });
  const mismatch = tried ? passwordMismatch(next, again) ?? (again === "" ? "Type the new password again" : undefined) : undefined;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    change.reset();
    if (next !== again || again === "") return;
    change.mutate({ current_password: current, new_password: next });
  };
  const err = change.error;
  return (
    <Section id="settings-password" title="Password">
      <Box component="form" onSubmit={submit} noValidate aria-labelledby="settings-password" sx={{ maxWidth: 420 }}>
        <Stack spacing={2}>
          <TextField label="Current password" type="password" autoComplete="current-password" value={current}
            onChange={(e) => setCurrent(e.target.value)} required
            error={!!fieldError(err, "current_password")} helperText={fieldError(err, "current_password")} />
          <TextField label="New password" type="password" autoComplete="new-password" value={next}
            onChange={(e) => setNext(e.target.value)} required
            error={!!fieldError(err, "new_password")} helperText={fieldError(err, "new_password") ?? "At least 8 characters"} />
          <TextField label="New password again" type="password" autoComplete="new-password" value={again}
            onChange={(e) => setAgain(e.target.value)} required error={!!mismatch} helperText={mismatch} />
          <OtherErrors error={err} fields={["current_password", "new_password"]} />
          {change.isSuccess ? (
            <Alert severity="success" role="status">Password changed. Your other sessions have been signed out.</Alert>
          ) : null}
          <Box>
            <Button type="submit" variant="contained" disabled={change.isPending}>Change password</Button>
          </Box>
        </Stack>
      </Box>
    </Section>
  );
}

function ApiKeys({ user }: { user: Me }) {
  const [creating, setCreating] = useState(false);
  return (
    <Section id="settings-keys" title="API keys"
      action={<Button variant="contained" startIcon={<Key />} onClick={() => setCreating(true)}>Create API key</Button>}>
      <Typography variant="body2" sx={{ color: "text.secondary", mb: 2 }}>
        For scripts and services: send a key as the <code>X-API-Key</code> header. A key never has more rights than your
        role; revoke one you no longer use.
      </Typography>
      <ApiKeyTable userId={null} label="Your API keys" whose="this" />
      <CreateApiKeyDialog open={creating} onClose={() => setCreating(false)} role={user.role} />
    </Section>
  );
}

/** "12.5 MW" from kilowatts. */
export function formatCapKw(kw: number): string {
  return kw >= 1000 ? `${formatNumber(kw / 1000, kw % 1000 === 0 ? 0 : 2)} MW` : `${formatNumber(kw)} kW`;
}

/** A customer's own budget and the thresholds their alerts fire at. */
function CustomerBudget() {
  const budget = useBudget();
  if (budget.error) return <ErrorAlert error={budget.error} title="Could not load your budget" />;
  if (!budget.data) return <Skeleton variant="text" width={240} />;
  const b = budget.data;
  return (
    <Box component="dl" sx={{ m: 0 }}>
      <Field term="Monthly budget">{b.monthly_limit_usd === null ? "None set" : formatUsd(b.monthly_limit_usd)}</Field>
      <Field term="Budget alerts">{b.thresholds_pct.length ? `At ${b.thresholds_pct.join(" %, ")} % of the budget` : "None"}</Field>
    </Box>
  );
}

function Limits({ user }: { user: Me }) {
  const facilities = useFacilities();
  const customer = user.role === "customer";
  const items = facilities.data?.items;
  return (
    <Section id="settings-limits" title="Platform limits">
      <Typography variant="body2" sx={{ color: "text.secondary", mb: 2 }}>
        Read-only: set in the platform&apos;s configuration{customer ? " and by your account's administrator" : ""}.
      </Typography>
      {facilities.error ? (
        <ErrorAlert error={facilities.error} title="Could not load the facilities" onRetry={() => void facilities.refetch()} />
      ) : (
        <Table size="small" aria-label="Facilities' power caps" aria-busy={items === undefined || undefined} sx={{ mb: 2 }}>
          <TableHead>
            <TableRow>
              {["Facility", "Location", "Power cap", "Market node"].map((c) => <TableCell key={c} component="th" scope="col">{c}</TableCell>)}
            </TableRow>
          </TableHead>
          <TableBody>
            {items === undefined ? (
              <TableRow><TableCell colSpan={4}><div role="status" aria-label="Loading the facilities"><Skeleton variant="text" /></div></TableCell></TableRow>
            ) : (
              items.map((f) => (
                <TableRow key={f.id}>
                  <TableCell component="th" scope="row">{f.name}</TableCell>
                  <TableCell>{f.location}</TableCell>
                  <TableCell>{formatCapKw(f.power_cap_kw)}</TableCell>
                  <TableCell>{f.market_node}</TableCell>
                </TableRow>
              ))
            )}
          </TableBody>
        </Table>
      )}
      {customer ? (
        <CustomerBudget />
      ) : (
        <Typography variant="body2">
          Alert thresholds (temperatures, hashrate, stale prices) are part of the platform&apos;s configuration; the API
          does not publish them.
        </Typography>
      )}
    </Section>
  );
}

export default function SettingsPage() {
  usePageTitle("Settings");
  const { user } = useAuth();
  if (!user) return null;
  return (
    <Stack spacing={3} sx={{ maxWidth: 1100 }}>
      <Typography variant="h4" component="h1">Settings</Typography>
      <Profile user={user} />
      <ChangePassword />
      <ApiKeys user={user} />
      <Limits user={user} />
    </Stack>
  );
}
