// The parts every server-sorted list table shares (Resources, Workloads): the header whose
// columns sort (aria-sort on the active one), the caption's words for the sort, and the body's
// rows while loading or when nothing matches.
import Skeleton from "@mui/material/Skeleton";
import TableCell from "@mui/material/TableCell";
import TableHead from "@mui/material/TableHead";
import TableRow from "@mui/material/TableRow";
import TableSortLabel from "@mui/material/TableSortLabel";
import Typography from "@mui/material/Typography";
import { visuallyHidden } from "./visuallyHidden";

export interface SortableColumn<F extends string> {
  key: string;
  label: string;
  sort?: F;
  align?: "right";
}

export interface TableSort<F extends string> {
  field: F;
  direction: "asc" | "desc";
}

const SPOKEN = { asc: "ascending", desc: "descending" } as const;

/** ", sorted by Model ascending" for the caption; `unsorted` when the list has no sort. */
export function sortCaption<F extends string>(columns: readonly SortableColumn<F>[], sort: TableSort<F> | null,
  unsorted = ""): string {
  if (!sort) return unsorted;
  return `, sorted by ${columns.find((c) => c.sort === sort.field)?.label} ${SPOKEN[sort.direction]}`;
}

export function SortableHead<F extends string>({ columns, sort, onSort }: {
  columns: readonly SortableColumn<F>[];
  sort: TableSort<F> | null;
  onSort: (field: F) => void;
}) {
  return (
    <TableHead>
      <TableRow>
        {columns.map((c) => {
          const active = c.sort !== undefined && sort?.field === c.sort;
          return (
            <TableCell key={c.key} align={c.align} scope="col" aria-sort={active ? SPOKEN[sort!.direction] : undefined}>
              {c.sort ? (
                <TableSortLabel active={active} direction={active ? sort!.direction : "asc"} onClick={() => onSort(c.sort!)}>
                  {c.label}
                </TableSortLabel>
              ) : c.label}
            </TableCell>
          );
        })}
      </TableRow>
    </TableHead>
  );
}

/** Five skeleton rows (the first announcing `loadingLabel`) while loading, else one row saying `emptyText`. */
export function TableStatusRows({ loading, colSpan, loadingLabel, emptyText }: {
  loading: boolean;
  colSpan: number;
  loadingLabel: string;
  emptyText: string;
}) {
  if (loading) {
    return Array.from({ length: 5 }, (_, i) => (
      <TableRow key={`loading-${i}`}>
        <TableCell colSpan={colSpan}>
          {i === 0 ? <span style={visuallyHidden} role="status">{loadingLabel}</span> : null}
          <Skeleton variant="text" />
        </TableCell>
      </TableRow>
    ));
  }
  return (
    <TableRow>
      <TableCell colSpan={colSpan}>
        <Typography sx={{ py: 2, textAlign: "center", color: "text.secondary" }}>{emptyText}</Typography>
      </TableCell>
    </TableRow>
  );
}
