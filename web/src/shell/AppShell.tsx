// The signed-in frame: a top bar (menu button on small screens, the live chip, the theme toggle,
// the Account menu) and the navigation for the user's role (nav.ts): a permanent drawer on wide
// screens, a temporary one on narrow screens. Pages render in <main> through <Outlet/>.
import MenuIcon from "@mui/icons-material/Menu";
import AppBar from "@mui/material/AppBar";
import Box from "@mui/material/Box";
import Chip from "@mui/material/Chip";
import Drawer from "@mui/material/Drawer";
import IconButton from "@mui/material/IconButton";
import Link from "@mui/material/Link";
import List from "@mui/material/List";
import ListItem from "@mui/material/ListItem";
import ListItemButton from "@mui/material/ListItemButton";
import ListItemIcon from "@mui/material/ListItemIcon";
import ListItemText from "@mui/material/ListItemText";
import ListSubheader from "@mui/material/ListSubheader";
import Stack from "@mui/material/Stack";
import { useTheme } from "@mui/material/styles";
import Toolbar from "@mui/material/Toolbar";
import Typography from "@mui/material/Typography";
import useMediaQuery from "@mui/material/useMediaQuery";
import { Suspense, useEffect, useState, type ReactNode } from "react";
import { NavLink, Outlet, Link as RouterLink, useLocation } from "react-router";
import { useAuth } from "../auth/AuthProvider";
import { ErrorBoundary } from "../components/ErrorBoundary";
import { brand } from "../theme/theme";
import { ThemeToggle } from "./ThemeToggle";
import { AccountMenu } from "./AccountMenu";
import { LiveChip } from "./LiveChip";
import { PageLoading } from "./PageLoading";
import { ROLE_LABELS, navSections } from "./nav";

export const DRAWER_WIDTH = 248;

function Brand() {
  return (
    <Link
      component={RouterLink}
      to="/app"
      underline="none"
      color="inherit"
      sx={{ display: "flex", alignItems: "center", gap: 1, fontWeight: 700 }}
    >
      <Box
        aria-hidden
        sx={{ width: 28, height: 28, borderRadius: 1, background: brand.gradient, flexShrink: 0 }}
      />
      <Typography component="span" variant="h6" sx={{ fontWeight: 800, letterSpacing: 0.5 }}>
        HCP
      </Typography>
    </Link>
  );
}

function Navigation({ onNavigate }: { onNavigate?: () => void }) {
  const { user, isAdmin } = useAuth();
  const sections = navSections(user?.role);
  return (
    <Box component="nav" aria-label="Main navigation" sx={{ overflowY: "auto", flexGrow: 1 }}>
      <Toolbar sx={{ px: 2 }}>
        <Brand />
      </Toolbar>
      <Stack direction="row" spacing={1} sx={{ px: 2, py: 1.5, alignItems: "center" }}>
        <Typography variant="body2" sx={{ color: "text.secondary" }}>
          {user ? `${ROLE_LABELS[user.role]} console` : "Console"}
        </Typography>
        {isAdmin ? <Chip label="Admin" size="small" color="primary" /> : null}
      </Stack>
      {sections.map(({ section, title, items }) => (
        <Box key={section}>
        {/* the title outside the list: a <ul> may hold only <li> (axe "list") */}
        {title ? <ListSubheader component="div" id={`nav-section-${section}`}>{title}</ListSubheader> : null}
        <List dense aria-labelledby={title ? `nav-section-${section}` : undefined}>
          {items.map((item) => (
            <ListItem key={item.key} disablePadding>
              <ListItemButton
                component={NavLink}
                to={item.to}
                end={item.end}
                onClick={onNavigate}
                sx={{
                  mx: 1,
                  borderRadius: 1,
                  "&.active": {
                    bgcolor: "action.selected",
                    color: "primary.main",
                    "& .MuiListItemIcon-root": { color: "primary.main" },
                  },
                }}
              >
                <ListItemIcon sx={{ minWidth: 36 }}>
                  <item.icon fontSize="small" />
                </ListItemIcon>
                <ListItemText primary={item.label} />
              </ListItemButton>
            </ListItem>
          ))}
        </List>
        </Box>
      ))}
    </Box>
  );
}

export function AppShell({ children }: { children?: ReactNode }) {
  const theme = useTheme();
  const wide = useMediaQuery(theme.breakpoints.up("md"), { noSsr: true });
  const [open, setOpen] = useState(false);
  const location = useLocation();

  // a page change closes the temporary drawer
  useEffect(() => setOpen(false), [location.pathname]);

  const drawer = <Navigation onNavigate={wide ? undefined : () => setOpen(false)} />;

  return (
    <Box sx={{ display: "flex", minHeight: "100vh" }}>
      <Link
        href="#main"
        sx={{
          position: "absolute",
          left: 8,
          top: -48,
          zIndex: (t) => t.zIndex.tooltip + 1,
          bgcolor: "background.paper",
          px: 2,
          py: 1,
          borderRadius: 1,
          "&:focus": { top: 8 },
        }}
      >
        Skip to content
      </Link>
      <AppBar
        position="fixed"
        sx={{
          width: { md: `calc(100% - ${DRAWER_WIDTH}px)` },
          ml: { md: `${DRAWER_WIDTH}px` },
          borderBottom: 1,
          borderColor: "divider",
          bgcolor: "background.paper",
          color: "text.primary",
        }}
      >
        <Toolbar sx={{ gap: 1 }}>
          {!wide ? (
            <IconButton
              color="inherit"
              edge="start"
              aria-label="Open navigation"
              aria-expanded={open}
              onClick={() => setOpen(true)}
            >
              <MenuIcon />
            </IconButton>
          ) : null}
          {!wide ? <Brand /> : null}
          <Box sx={{ flexGrow: 1 }} />
          <LiveChip />
          <ThemeToggle />
          <AccountMenu />
        </Toolbar>
      </AppBar>
      {wide ? (
        <Drawer
          variant="permanent"
          sx={{
            width: DRAWER_WIDTH,
            flexShrink: 0,
            "& .MuiDrawer-paper": { width: DRAWER_WIDTH, boxSizing: "border-box" },
          }}
        >
          {drawer}
        </Drawer>
      ) : (
        <Drawer
          variant="temporary"
          open={open}
          onClose={() => setOpen(false)}
          ModalProps={{ keepMounted: false }}
          sx={{ "& .MuiDrawer-paper": { width: DRAWER_WIDTH, boxSizing: "border-box" } }}
        >
          {drawer}
        </Drawer>
      )}
      <Box
        component="main"
        id="main"
        tabIndex={-1}
        sx={{ flexGrow: 1, minWidth: 0, p: { xs: 2, md: 3 }, outline: "none" }}
      >
        <Toolbar />
        <ErrorBoundary resetKey={location.pathname}>
          <Suspense fallback={<PageLoading />}>{children ?? <Outlet />}</Suspense>
        </ErrorBoundary>
      </Box>
    </Box>
  );
}

export default AppShell;
