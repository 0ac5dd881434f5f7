// One invoice: its lines, totals and dates, its PDF, and the moves its state allows (each behind
// the page's confirmation). Opened from the invoices table; `?invoice=` in the URL holds it.
import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Dialog from "@mui/material/Dialog";
import DialogActions from "@mui/material/DialogActions";
import DialogContent from "@mui/material/DialogContent";
import DialogTitle from "@mui/material/DialogTitle";
import Skeleton from "@mui/material/Skeleton";
import Stack from "@mui/material/Stack";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import PictureAsPdf from "@mui/icons-material/PictureAsPdfOutlined";
import { useId, useState } from "react";
import { ErrorAlert } from "../../components/ErrorAlert";
import { formatUsd } from "../dashboard/format";
import { formatDate } from "../admin/format";
import { ACTION_TEXT, STATUS_LABELS, actionsFor, monthLabel } from "./model";
import { downloadInvoicePdf, useInvoice, type Invoice, type InvoiceAction, type InvoiceSummary } from "./queries";

export interface InvoiceDialogProps {
  /** undefined: closed */
  id: string | undefined;
  /** the row from the list, shown while the whole invoice loads */
  initial?: InvoiceSummary;
  customerName: (tenantId: string) => string;
  onAction: (invoice: InvoiceSummary, action: InvoiceAction) => void;
  onClose: () => void;
}

function Lines({ invoice }: { invoice: Invoice }) {
  const tax = `Tax (${(Number(invoice.tax_rate) * 100).toLocaleString("en-US", { maximumFractionDigits: 3 })} %)`;
  return (
    <TableContainer tabIndex={0} role="group" aria-label="Invoice lines, scrollable">
      <Table size="small" aria-label={`Lines of invoice ${invoice.number}`}>
        <TableHead>
          <TableRow>
            {["Description", "GPU", "Hours", "Rate", "Amount"].map((c) => (
              <TableCell key={c} component="th" scope="col" align={c === "Description" || c === "GPU" ? "left" : "right"}>{c}</TableCell>
            ))}
          </TableRow>
        </TableHead>
        <TableBody>
          {invoice.lines.length === 0 ? (
            <TableRow><TableCell colSpan={5}>No lines.</TableCell></TableRow>
          ) : invoice.lines.map((l, i) => (
            <TableRow key={`${l.workload_id ?? "line"}-${i}`}>
              <TableCell>{l.description}</TableCell>
              <TableCell>{l.gpu_model}</TableCell>
              <TableCell align="right">{Number(l.quantity_hours).toLocaleString("en-US", { maximumFractionDigits: 2 })}</TableCell>
              <TableCell align="right">{formatUsd(l.rate_usd, 3)}/h</TableCell>
              <TableCell align="right">{formatUsd(l.amount_usd)}</TableCell>
            </TableRow>
          ))}
          {[["Subtotal", invoice.subtotal_usd], [tax, invoice.tax_usd], ["Total", invoice.total_usd]].map(([label, value]) => (
            <TableRow key={label}>
              <TableCell component="th" scope="row" colSpan={4} align="right" sx={{ fontWeight: label === "Total" ? 700 : 500 }}>{label}</TableCell>
              <TableCell align="right" sx={{ fontWeight: label === "Total" ? 700 : 400 }}>{formatUsd(value)}</TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>
    </TableContainer>
  );
}

export function InvoiceDialog({ id, initial, customerName, onAction, onClose }: InvoiceDialogProps) {
  const titleId = useId();
  const query = useInvoice(id);
  const invoice: InvoiceSummary | undefined = query.data ?? initial;
  const [pdfError, setPdfError] = useState<unknown>(null);
  const [pdfPending, setPdfPending] = useState(false);
  const pdf = () => {
    if (!invoice) return;
    setPdfPending(true);
    setPdfError(null);
    downloadInvoicePdf(invoice).catch(setPdfError).finally(() => setPdfPending(false));
  };
  return (
    <Dialog open={id !== undefined} onClose={onClose} aria-labelledby={titleId} fullWidth maxWidth="md">
      <DialogTitle id={titleId}>{invoice ? `Invoice ${invoice.number}` : "Invoice"}</DialogTitle>
      <DialogContent>
        {invoice ? (
          <Stack spacing={2}>
            <Box component="dl" sx={{ display: "grid", gridTemplateColumns: "max-content 1fr", columnGap: 2, rowGap: 0.5, m: 0,
              "& dt": { color: "text.secondary" }, "& dd": { m: 0 } }}>
              <dt>Customer</dt><dd>{customerName(invoice.tenant_id)}</dd>
              <dt>Period</dt><dd>{monthLabel(invoice.period)}</dd>
              <dt>Status</dt><dd>{STATUS_LABELS[invoice.status]}</dd>
              <dt>Kind</dt><dd>{invoice.kind === "correction" ? "Correction" : invoice.kind === "monthly" ? "Monthly" : "On demand"}</dd>
              {invoice.corrects_id ? <><dt>Corrects</dt><dd><code>{invoice.corrects_id}</code></dd></> : null}
              <dt>Created</dt><dd>{formatDate(invoice.created_at)}</dd>
              {invoice.issued_at ? <><dt>Issued</dt><dd>{formatDate(invoice.issued_at)}</dd></> : null}
              {invoice.paid_at ? <><dt>Paid</dt><dd>{formatDate(invoice.paid_at)}</dd></> : null}
              {invoice.voided_at ? <><dt>Voided</dt><dd>{formatDate(invoice.voided_at)}</dd></> : null}
            </Box>
            {query.data ? (
              <Lines invoice={query.data} />
            ) : query.error ? (
              <ErrorAlert error={query.error} title="Could not load the invoice's lines" onRetry={() => void query.refetch()} />
            ) : (
              <Box role="status" aria-label="Loading the invoice's lines"><Skeleton /><Skeleton /><Skeleton /></Box>
            )}
            <ErrorAlert error={pdfError} title="Could not download the PDF" />
          </Stack>
        ) : query.error ? (
          <ErrorAlert error={query.error} title="Could not load the invoice" onRetry={() => void query.refetch()} />
        ) : (
          <Box role="status" aria-label="Loading the invoice"><Skeleton /><Skeleton /></Box>
        )}
      </DialogContent>
      <DialogActions>
        {invoice ? (
          <Button startIcon={<PictureAsPdf />} onClick={pdf} disabled={pdfPending} sx={{ mr: "auto" }}>
            {pdfPending ? "Downloading…" : "Download PDF"}
          </Button>
        ) : null}
        {invoice ? actionsFor(invoice.status).map((a) => (
          <Button key={a} color={a === "issue" ? "primary" : "error"} variant={a === "issue" ? "contained" : "outlined"}
            onClick={() => onAction(invoice, a)}>
            {ACTION_TEXT[a].label}
          </Button>
        )) : null}
        <Button onClick={onClose}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}

export default InvoiceDialog;
