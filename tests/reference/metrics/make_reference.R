# Reference values for prom/validation (metrics), computed with R, pROC, rms and survival.
#
# Run from anywhere (reads the inputs and writes the outputs next to this script):
#     Rscript tests/reference/metrics/make_reference.R
# Needs (Debian): apt-get install r-base-core r-cran-proc r-cran-rms r-cran-survival
# The inputs come from make_inputs.py (seeded NumPy); the tests read the CSVs written
# here and never need R.
#
# Reads
#   binary_inputs.csv     dataset, y, p1, p2
#   survival_inputs.csv   time, event, risk, surv_t, group
# Writes
#   auc_ref.csv           dataset, predictor, level, auc, se, low, high, n, n_events
#                         pROC roc(direction = "<") + ci.auc(method = "delong") + var()
#   delong_ref.csv        dataset, level, auc1, auc2, z, p_value, low, high
#                         pROC roc.test(method = "delong", paired = TRUE)
#   valprob_ref.csv       dataset, predictor, and val.prob's C, Dxy, Brier, Intercept,
#                         Slope, Eavg, E90, Emax; plus e50 and eavg/e90/emax recomputed
#                         from val.prob's own lines (to check the replication)
#   lowess_ref.csv        dataset, predictor, p, y, smoothed: val.prob's
#                         approx(lowess(p, y, iter = 0), xout = p, ties = mean)$y per row
#   recal_ref.csv         dataset, predictor, citl, citl_se, intercept, intercept_se,
#                         slope, slope_se: glm(binomial) with epsilon = 1e-15
#   spline_ref.csv        dataset, predictor, knots (";"-joined), grid, eta, se_eta:
#                         glm(y ~ rcspline.eval(logit(p), knots, inclx = TRUE)),
#                         predict(se.fit = TRUE) on seq(min(p), max(p), length = 100)
#   concordance_ref.csv   score, c, se, concordant, discordant, tied_x, tied_y, tied_xy, n
#                         survival::concordance(Surv(time, event) ~ score, reverse = TRUE)
#   km_ref.csv            subset, time, n_risk, n_event, surv, std_err, lower, upper
#                         summary(survfit(Surv(time, event) ~ 1), times = ...)
#   versions.csv          R and package versions
#
# Every number is written with 17 significant digits.

suppressPackageStartupMessages({
  library(pROC)
  library(rms)
  library(survival)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(script) == 1) dirname(normalizePath(script)) else getwd()
num <- function(x) sprintf("%.17g", x)
out <- function(df, name) write.csv(df, file.path(dir, name), row.names = FALSE, quote = FALSE)

bin <- read.csv(file.path(dir, "binary_inputs.csv"))
srv <- read.csv(file.path(dir, "survival_inputs.csv"))

# ---- AUC, DeLong interval and test ------------------------------------------------------
auc_rows <- list(); dl_rows <- list()
for (ds in unique(bin$dataset)) {
  d <- bin[bin$dataset == ds, ]
  rocs <- lapply(c("p1", "p2"), function(v)
    roc(response = d$y, predictor = d[[v]], levels = c(0, 1), direction = "<", quiet = TRUE))
  names(rocs) <- c("p1", "p2")
  for (v in names(rocs)) for (lev in c(0.95, 0.9)) {
    ci <- ci.auc(rocs[[v]], conf.level = lev, method = "delong")
    auc_rows[[length(auc_rows) + 1]] <- data.frame(
      dataset = ds, predictor = v, level = lev, auc = num(ci[2]),
      se = num(sqrt(var(rocs[[v]], method = "delong"))), low = num(ci[1]), high = num(ci[3]),
      n = nrow(d), n_events = sum(d$y == 1))
  }
  for (lev in c(0.95, 0.9)) {
    tt <- roc.test(rocs$p1, rocs$p2, method = "delong", paired = TRUE, conf.level = lev)
    dl_rows[[length(dl_rows) + 1]] <- data.frame(
      dataset = ds, level = lev, auc1 = num(tt$estimate[1]), auc2 = num(tt$estimate[2]),
      z = num(tt$statistic), p_value = num(tt$p.value), low = num(tt$conf.int[1]),
      high = num(tt$conf.int[2]))
  }
}
out(do.call(rbind, auc_rows), "auc_ref.csv")
out(do.call(rbind, dl_rows), "delong_ref.csv")

# ---- val.prob, its lowess, glm recalibration, spline curve -------------------------------
vp_rows <- list(); lw_rows <- list(); rc_rows <- list(); sp_rows <- list()
tight <- glm.control(epsilon = 1e-15, maxit = 100)
for (ds in unique(bin$dataset)) {
  d <- bin[bin$dataset == ds, ]
  for (v in c("p1", "p2")) {
    p <- d[[v]]; y <- d$y
    vp <- val.prob(p, y, pl = FALSE)
    # val.prob's own lines for the smoothed errors (rms 6.5-0), plus the median
    Sm <- lowess(p, y, iter = 0)
    cal.smooth <- approx(Sm, xout = p, ties = mean)$y
    er <- abs(p - cal.smooth)
    vp_rows[[length(vp_rows) + 1]] <- data.frame(
      dataset = ds, predictor = v, C = num(vp["C (ROC)"]), Dxy = num(vp["Dxy"]),
      Brier = num(vp["Brier"]), Intercept = num(vp["Intercept"]), Slope = num(vp["Slope"]),
      Eavg = num(vp["Eavg"]), E90 = num(vp["E90"]), Emax = num(vp["Emax"]),
      eavg_rep = num(mean(er)), e50_rep = num(median(er)),
      e90_rep = num(unname(quantile(er, 0.9))), emax_rep = num(max(er)))
    lw_rows[[length(lw_rows) + 1]] <- data.frame(dataset = ds, predictor = v, p = num(p), y = y,
                                                 smoothed = num(cal.smooth))
    lp <- qlogis(p)
    f0 <- glm(y ~ 1, offset = lp, family = binomial, control = tight)
    f1 <- glm(y ~ lp, family = binomial, control = tight)
    s0 <- summary(f0)$coefficients; s1 <- summary(f1)$coefficients
    rc_rows[[length(rc_rows) + 1]] <- data.frame(
      dataset = ds, predictor = v, citl = num(s0[1, 1]), citl_se = num(s0[1, 2]),
      intercept = num(s1[1, 1]), intercept_se = num(s1[1, 2]),
      slope = num(s1[2, 1]), slope_se = num(s1[2, 2]))
    if (ds == "main") {
      # knots at Harrell's 4-knot quantiles (type 7), passed explicitly
      knots <- unname(quantile(lp, c(0.05, 0.35, 0.65, 0.95)))
      X <- rcspline.eval(lp, knots = knots, inclx = TRUE)
      fs <- glm(y ~ X, family = binomial, control = tight)
      grid <- seq(min(p), max(p), length.out = 100)
      G <- rcspline.eval(qlogis(grid), knots = knots, inclx = TRUE)
      eta <- drop(cbind(1, G) %*% coef(fs))
      se <- sqrt(rowSums((cbind(1, G) %*% vcov(fs)) * cbind(1, G)))
      sp_rows[[length(sp_rows) + 1]] <- data.frame(
        dataset = ds, predictor = v, knots = paste(num(knots), collapse = ";"),
        grid = num(grid), eta = num(eta), se_eta = num(se))
    }
  }
}
out(do.call(rbind, vp_rows), "valprob_ref.csv")
out(do.call(rbind, lw_rows), "lowess_ref.csv")
out(do.call(rbind, rc_rows), "recal_ref.csv")
out(do.call(rbind, sp_rows), "spline_ref.csv")

# ---- survival: concordance and Kaplan-Meier ---------------------------------------------
cc_rows <- list()
scores <- list(risk = srv$risk, neg_surv_t = -srv$surv_t, group = -srv$group)
for (nm in names(scores)) {
  x <- scores[[nm]]
  cf <- concordance(Surv(srv$time, srv$event) ~ x, reverse = TRUE)
  cc_rows[[length(cc_rows) + 1]] <- data.frame(
    score = nm, c = num(cf$concordance), se = num(sqrt(cf$var)),
    concordant = cf$count["concordant"], discordant = cf$count["discordant"],
    tied_x = cf$count["tied.x"], tied_y = cf$count["tied.y"], tied_xy = cf$count["tied.xy"],
    n = cf$n)
}
out(do.call(rbind, cc_rows), "concordance_ref.csv")

km_one <- function(d, label, times) {
  s <- summary(survfit(Surv(time, event) ~ 1, data = d), times = times)
  data.frame(subset = label, time = num(s$time), n_risk = s$n.risk, n_event = s$n.event,
             surv = num(s$surv), std_err = num(s$std.err), lower = num(s$lower),
             upper = num(s$upper))
}
km_rows <- list(km_one(srv, "all", c(0.5, 1, 6, 12, 12.5, 24, 36, 48, max(srv$time))))
for (g in sort(unique(srv$group)))
  km_rows[[length(km_rows) + 1]] <- km_one(srv[srv$group == g, ], paste0("group", g), 24)
out(do.call(rbind, km_rows), "km_ref.csv")

ver <- data.frame(
  component = c("R", "pROC", "rms", "Hmisc", "survival"),
  version = c(paste(R.version$major, R.version$minor, sep = "."),
              as.character(packageVersion("pROC")), as.character(packageVersion("rms")),
              as.character(packageVersion("Hmisc")), as.character(packageVersion("survival"))))
out(ver, "versions.csv")
cat(sprintf("%s %s; ", ver$component, ver$version), sprintf("\nwrote CSVs to %s\n", dir))
