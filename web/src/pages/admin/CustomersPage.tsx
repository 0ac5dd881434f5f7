// Administration > Customers: the tenants, each with this month's spend against its budget, the
// budget editable (the API names the tenant in the body, as staff must). Create a customer.
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogContent from "@mui/material/DialogContent";
import DialogContentText from "@mui/material/DialogContentText";
import DialogTitle from "@mui/material/DialogTitle";
import InputAdornment from "@mui/material/InputAdornment";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import TableCell from "@mui/material/TableCell";
import TableRow from "@mui/material/TableRow";
import TextField from "@mui/material/TextField";
import Typography from "@mui/material/Typography";
import AddBusiness from "@mui/icons-material/AddBusinessOutlined";
import { useId, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { visuallyHidden } from "../../components/visuallyHidden";
import { useBudget } from "../../live/queries";
import { formatUsd } from "../dashboard/format";
import { usePageTitle } from "../../shell/usePageTitle";
import { AdminTable } from "./AdminTable";
import { fieldError, formatDate } from "./format";
import { useCreateTenant, useSetBudget, useTenants, type Budget, type Tenant } from "./queries";
import { readPaging } from "./urlState";
import { OtherErrors, SubmitActions } from "./FormParts";

/** A slug from a name: "Acme Corp." -> "acme-corp". */
export function slugify(name: string): string {
  return name.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 64);
}

/** "$1,200.00 of $5,000.00 (24 %)", "$1,200.00, no budget". */
export function describeBudget(b: Budget): string {
  if (b.monthly_limit_usd === null) return `${formatUsd(b.spent_usd)} spent, no budget set`;
  const pct = b.used_pct === null ? "" : ` (${Math.round(Number(b.used_pct))} %)`;
  return `${formatUsd(b.spent_usd)} of ${formatUsd(b.monthly_limit_usd)}${pct}`;
}

function BudgetCell({ tenant, onEdit }: { tenant: Tenant; onEdit: (t: Tenant, b: Budget | undefined) => void }) {
  const budget = useBudget(tenant.id);
  return (
    <>
      <TableCell>
        {budget.data ? describeBudget(budget.data) : budget.error ? "Could not load the budget" : (
          <><Skeleton variant="text" width={140} aria-hidden /><span style={visuallyHidden}>Loading</span></>
        )}
      </TableCell>
      <TableCell>
        <Button size="small" onClick={() => onEdit(tenant, budget.data)} aria-label={`Edit the budget of ${tenant.name}`}>
          Edit budget
        </Button>
      </TableCell>
    </>
  );
}

function BudgetDialog({ target, onClose }: { target: { tenant: Tenant; budget?: Budget } | null; onClose: () => void }) {
  const titleId = useId();
  const set = useSetBudget();
  const [value, setValue] = useState("");
  const [shown, setShown] = useState(target);
  if (target !== shown) {
    setShown(target);
    setValue(target?.budget?.monthly_limit_usd ?? "");
    set.reset();
  }
  const close = () => { set.reset(); onClose(); };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!target) return;
    set.mutate({ tenant_id: target.tenant.id, monthly_limit_usd: value.trim() }, { onSuccess: close });
  };
  const err = set.error;
  const fieldMsg = fieldError(err, "monthly_limit_usd");
  return (
    <Dialog open={target !== null} onClose={set.isPending ? undefined : close} aria-labelledby={titleId} fullWidth maxWidth="xs">
      <form onSubmit={submit} noValidate>
        <DialogTitle id={titleId}>Budget of {target?.tenant.name}</DialogTitle>
        <DialogContent>
          <DialogContentText sx={{ mb: 2 }}>
            The customer is alerted as this month&apos;s spend crosses
            {target?.budget ? ` ${target.budget.thresholds_pct.join(" %, ")} %` : " its thresholds"} of it.
          </DialogContentText>
          <TextField label="Monthly budget" value={value} onChange={(e) => setValue(e.target.value)} required fullWidth autoFocus
            error={!!fieldMsg} helperText={fieldMsg ?? "USD, e.g. 5000 or 5000.50"}
            slotProps={{ htmlInput: { inputMode: "decimal" }, input: { startAdornment: <InputAdornment position="start">$</InputAdornment> } }} />
          <OtherErrors error={err} fields={["monthly_limit_usd"]} sx={{ mt: 2 }} />
        </DialogContent>
        <SubmitActions onCancel={close} pending={set.isPending} label="Save budget" />
      </form>
    </Dialog>
  );
}

function CreateCustomerDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const titleId = useId();
  const create = useCreateTenant();
  const [name, setName] = useState("");
  const [slug, setSlug] = useState("");
  const [slugEdited, setSlugEdited] = useState(false);
  const close = () => { create.reset(); setName(""); setSlug(""); setSlugEdited(false); onClose(); };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ name: name.trim(), slug: slugEdited ? slug : slugify(name) }, { onSuccess: close });
  };
  const err = create.error;
  const shownSlug = slugEdited ? slug : slugify(name);
  return (
    <Dialog open={open} onClose={create.isPending ? undefined : close} aria-labelledby={titleId} fullWidth maxWidth="sm">
      <form onSubmit={submit} noValidate>
        <DialogTitle id={titleId}>Create customer</DialogTitle>
        <DialogContent>
          <Stack spacing={2} sx={{ pt: 1 }}>
            <TextField label="Name" value={name} onChange={(e) => setName(e.target.value)} required autoFocus
              error={!!fieldError(err, "name")} helperText={fieldError(err, "name")} />
            <TextField label="Slug" value={shownSlug} onChange={(e) => { setSlugEdited(true); setSlug(e.target.value); }} required
              error={!!fieldError(err, "slug")}
              helperText={fieldError(err, "slug") ?? "Lower-case letters, digits and dashes; cannot be changed later"} />
            <OtherErrors error={err} fields={["name", "slug"]} />
          </Stack>
        </DialogContent>
        <SubmitActions onCancel={close} pending={create.isPending} label="Create customer" />
      </form>
    </Dialog>
  );
}

export default function CustomersPage() {
  usePageTitle("Customers");
  const [sp] = useSearchParams();
  const { page, size } = readPaging(sp);
  // Every tenant comes in one answer (useTenants); the page is cut here.
  const tenants = useTenants();
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<{ tenant: Tenant; budget?: Budget } | null>(null);
  const items = tenants.data?.items;
  const rows = items?.slice(page * size, page * size + size).map((t) => (
    <TableRow key={t.id} hover>
      <TableCell component="th" scope="row">{t.name}</TableCell>
      <TableCell><code>{t.slug}</code></TableCell>
      <TableCell>{formatDate(t.created_at)}</TableCell>
      <BudgetCell tenant={t} onEdit={(tenant, budget) => setEditing({ tenant, budget })} />
    </TableRow>
  ));
  return (
    <Stack spacing={2}>
      <Stack direction="row" spacing={2} sx={{ alignItems: "center", flexWrap: "wrap" }}>
        <Typography variant="h4" component="h1">Customers</Typography>
        <Button variant="contained" startIcon={<AddBusiness />} sx={{ ml: "auto" }} onClick={() => setCreating(true)}>
          Create customer
        </Button>
      </Stack>
      <Typography sx={{ color: "text.secondary" }}>
        Each customer is a tenant: its users see only its workloads, usage and invoices. Spend is this month&apos;s,
        metered and running.
      </Typography>
      <AdminTable label="Customers" columns={["Name", "Slug", "Created", "Spend this month", "Actions"]}
        rows={rows} error={tenants.error} onRetry={() => void tenants.refetch()} total={tenants.data?.total}
        empty="No customer yet." />
      <CreateCustomerDialog open={creating} onClose={() => setCreating(false)} />
      <BudgetDialog target={editing} onClose={() => setEditing(null)} />
    </Stack>
  );
}
