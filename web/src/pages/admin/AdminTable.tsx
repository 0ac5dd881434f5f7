// A table page's frame: the rows (or a spoken loading state, or the error), and paging whose
// state lives in the URL.
import Box from "@mui/material/Box";
import Paper from "@mui/material/Paper";
import Skeleton from "@mui/material/Skeleton";
import Table from "@mui/material/Table";
import TableBody from "@mui/material/TableBody";
import TableCell from "@mui/material/TableCell";
import TableContainer from "@mui/material/TableContainer";
import TableHead from "@mui/material/TableHead";
import TablePagination from "@mui/material/TablePagination";
import TableRow from "@mui/material/TableRow";
import type { ReactNode } from "react";
import { useSearchParams } from "react-router";
import { ErrorAlert } from "../../components/ErrorAlert";
import { PAGE_SIZES, readPaging, withPage, withParams } from "./urlState";

export interface AdminTableProps {
  /** the table's accessible name */
  label: string;
  columns: readonly string[];
  /** undefined while loading */
  rows: ReactNode[] | undefined;
  error?: unknown;
  onRetry?: () => void;
  /** rows in all (for paging); omit for an unpaged table */
  total?: number;
  empty: string;
  /** the previous page's rows are shown while the next one loads */
  stale?: boolean;
}

export function AdminTable({ label, columns, rows, error, onRetry, total, empty, stale }: AdminTableProps) {
  const [sp, setSp] = useSearchParams();
  const paging = readPaging(sp);
  if (error && rows === undefined) return <ErrorAlert error={error} title={`Could not load the ${label.toLowerCase()}`} onRetry={onRetry} />;
  return (
    <Paper variant="outlined">
      {/* focusable, so that a table wider than the screen scrolls by keyboard too */}
      <TableContainer tabIndex={0} role="group" aria-label={`${label}, scrollable`}>
        <Table size="small" aria-label={label} aria-busy={rows === undefined || stale || undefined}>
          <TableHead>
            <TableRow>
              {columns.map((c) => <TableCell key={c} component="th" scope="col">{c}</TableCell>)}
            </TableRow>
          </TableHead>
          <TableBody>
            {rows === undefined ? (
              <TableRow>
                <TableCell colSpan={columns.length}>
                  <Box role="status" aria-label={`Loading the ${label.toLowerCase()}`}>
                    <Skeleton variant="text" /><Skeleton variant="text" /><Skeleton variant="text" />
                  </Box>
                </TableCell>
              </TableRow>
            ) : rows.length === 0 ? (
              <TableRow>
                <TableCell colSpan={columns.length}>{empty}</TableCell>
              </TableRow>
            ) : (
              rows
            )}
          </TableBody>
        </Table>
      </TableContainer>
      {total !== undefined ? (
        <TablePagination
          component="div"
          count={total}
          page={Math.min(paging.page, Math.max(0, Math.ceil(total / paging.size) - 1))}
          rowsPerPage={paging.size}
          rowsPerPageOptions={[...PAGE_SIZES]}
          onPageChange={(_, page) => setSp(withPage(sp, page))}
          onRowsPerPageChange={(e) => setSp(withParams(sp, { size: Number(e.target.value) }))}
        />
      ) : null}
    </Paper>
  );
}
