import Box from "@mui/material/Box";
import CircularProgress from "@mui/material/CircularProgress";

/** What a lazily loaded page shows while its code arrives. */
export function PageLoading({ label = "Loading page" }: { label?: string }) {
  return (
    <Box role="status" aria-label={label} sx={{ display: "flex", justifyContent: "center", py: 8 }}>
      <CircularProgress aria-hidden />
    </Box>
  );
}
