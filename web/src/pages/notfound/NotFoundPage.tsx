import Box from "@mui/material/Box";
import Button from "@mui/material/Button";
import Typography from "@mui/material/Typography";
import { Link as RouterLink, useLocation } from "react-router";
import { usePageTitle } from "../../shell/usePageTitle";

/** 404 for any path the console does not know (inside the shell or outside it). */
export default function NotFoundPage({ inShell = false }: { inShell?: boolean }) {
  usePageTitle("Page not found");
  const { pathname } = useLocation();
  return (
    <Box
      component={inShell ? "div" : "main"}
      sx={{ minHeight: inShell ? undefined : "100vh", display: "grid", placeItems: "center", px: 2, py: 8 }}
    >
      <Box sx={{ textAlign: "center", maxWidth: 520 }}>
        <Typography
          aria-hidden
          sx={{ fontSize: "5rem", fontWeight: 800, lineHeight: 1, color: "primary.main", mb: 2 }}
        >
          404
        </Typography>
        <Typography variant="h4" component="h1" sx={{ mb: 2 }}>
          Page not found
        </Typography>
        <Typography sx={{ color: "text.secondary", mb: 4, wordBreak: "break-all" }}>
          There is no page at <code>{pathname}</code>.
        </Typography>
        <Button component={RouterLink} to={inShell ? "/app" : "/"} variant="contained">
          Back to the start
        </Button>
      </Box>
    </Box>
  );
}
