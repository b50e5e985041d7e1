# Reference values for prom/instruments/mcid_estimate.py, computed with R and pROC.
#
# Run from anywhere (writes next to this script):
#     Rscript tests/reference/mcid/make_reference.R
# Needs R and pROC only (Debian: apt-get install r-base-core r-cran-proc). The tests read
# the CSVs written here and never need R.
#
# Writes
#   anchor_inputs.csv        dataset, change, improved          (the datasets, generated here)
#   anchor_all.csv           dataset, threshold, sensitivity, specificity
#                            (pROC coords(roc, "all"): every threshold, ascending)
#   anchor_best.csv          dataset, rank, threshold, sensitivity, specificity, youden,
#                            auc, n_improved, n_not_improved, r_version, proc_version
#                            (pROC coords(roc, "best", best.method = "youden"); one row per
#                            tied best threshold, ascending, rank 1 = smallest)
#   distribution_inputs.csv  dataset, baseline
#   distribution_ref.csv     dataset, n, sd, r_version
#
# Every number is written with 17 significant digits, so doubles survive the round trip
# exactly and the Python tests can compare thresholds with ==.
#
# pROC conventions used (pROC 1.18.0 source: roc.utils.thresholds, roc.utils.perfs):
#   direction = "<": controls (not improved) have lower change than cases (improved);
#   a patient counts as improved when change >= threshold; thresholds are -Inf, the
#   midpoints between adjacent distinct change values, and +Inf.

suppressPackageStartupMessages(library(pROC))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
out_dir <- if (length(script) == 1) dirname(normalizePath(script)) else getwd()

r_version <- paste(R.version$major, R.version$minor, sep = ".")
proc_version <- as.character(packageVersion("pROC"))
num <- function(x) sprintf("%.17g", x)

# ---- anchor datasets --------------------------------------------------------------------
datasets <- list()

# 1. continuous change scores (ODI-like points), no ties, groups of 45 and 55
set.seed(20240501)
datasets$continuous <- list(
  not_improved = rnorm(45, mean = 2, sd = 6),
  improved = rnorm(55, mean = 9, sd = 6)
)

# 2. whole-number change scores (NRS-like), many ties within and across groups
set.seed(20240502)
datasets$integer_ties <- list(
  not_improved = pmax(-10, pmin(10, round(rnorm(60, mean = 0.5, sd = 1.8)))),
  improved = pmax(-10, pmin(10, round(rnorm(70, mean = 2.5, sd = 1.8))))
)

# 3. ODI change in steps of 100/45 and 2 points (forms with 9 or 10 sections answered):
#    values that are not exact in binary, so midpoints test floating-point agreement
set.seed(20240503)
odi_change <- function(n, shift) {
  k <- round(rnorm(n, mean = shift, sd = 8))
  nine <- runif(n) < 0.3
  ifelse(nine, k * 100 / 45, 2 * k)
}
datasets$odi_fractions <- list(
  not_improved = odi_change(40, 1),
  improved = odi_change(40, 6)
)

# 4. hand-countable tie in Youden's J: J = 0.5 at thresholds 1.5, 3.5 and 5.5
datasets$tied_j_small <- list(
  not_improved = c(0, 1, 3, 5),
  improved = c(2, 4, 6, 7)
)

# 5. tied J with unequal groups (30 / 45), whole-number change: the first seed whose data
#    have at least two tied best thresholds (checked in exact integer arithmetic below)
exact_best <- function(ctrl, cases) {
  u <- sort(unique(c(ctrl, cases)))
  tp <- sapply(u, function(t) sum(cases >= t))
  tn <- sapply(u, function(t) sum(ctrl < t))
  crit <- tp * length(ctrl) + tn * length(cases)   # (J + 1) * n_cases * n_controls
  crit[1] <- -1                                     # everyone improved: not a cut-off
  which(crit == max(crit))
}
for (seed in 1:10000) {
  set.seed(seed)
  ctrl <- round(rnorm(30, mean = 1, sd = 2))
  cases <- round(rnorm(45, mean = 3, sd = 2))
  if (length(exact_best(ctrl, cases)) >= 2) break
}
datasets$tied_j_unequal <- list(not_improved = ctrl, improved = cases)
tied_seed <- seed

inputs <- do.call(rbind, lapply(names(datasets), function(name) {
  d <- datasets[[name]]
  data.frame(dataset = name,
             change = c(d$not_improved, d$improved),
             improved = c(rep(0L, length(d$not_improved)), rep(1L, length(d$improved))))
}))

all_rows <- list()
best_rows <- list()
for (name in names(datasets)) {
  d <- inputs[inputs$dataset == name, ]
  r <- roc(response = d$improved, predictor = d$change, levels = c(0, 1),
           direction = "<", quiet = TRUE)
  all <- coords(r, "all", ret = c("threshold", "sensitivity", "specificity"),
                transpose = FALSE)
  all <- all[order(all$threshold), ]
  all_rows[[name]] <- data.frame(dataset = name, threshold = num(all$threshold),
                                 sensitivity = num(all$sensitivity),
                                 specificity = num(all$specificity))
  best <- coords(r, "best", best.method = "youden",
                 ret = c("threshold", "sensitivity", "specificity"), transpose = FALSE)
  best <- best[order(best$threshold), ]
  # pROC compares floating-point sums (se + sp == max); make sure that agrees with the
  # exact integer comparison for these data, so the reference tie sets are the true ones.
  u <- sort(unique(d$change))
  exact <- c(-Inf, (u[-1] + u[-length(u)]) / 2)[exact_best(d$change[d$improved == 0],
                                                            d$change[d$improved == 1])]
  if (!isTRUE(all.equal(exact, best$threshold, tolerance = 0))) {
    stop(sprintf("dataset %s: pROC's tied best thresholds differ from the exact ones", name))
  }
  best_rows[[name]] <- data.frame(
    dataset = name, rank = seq_len(nrow(best)), threshold = num(best$threshold),
    sensitivity = num(best$sensitivity), specificity = num(best$specificity),
    youden = num(best$sensitivity + best$specificity - 1), auc = num(as.numeric(auc(r))),
    n_improved = sum(d$improved == 1), n_not_improved = sum(d$improved == 0),
    r_version = r_version, proc_version = proc_version)
}

inputs$change <- num(inputs$change)
write.csv(inputs, file.path(out_dir, "anchor_inputs.csv"), row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, all_rows), file.path(out_dir, "anchor_all.csv"),
          row.names = FALSE, quote = FALSE)
write.csv(do.call(rbind, best_rows), file.path(out_dir, "anchor_best.csv"),
          row.names = FALSE, quote = FALSE)

# ---- distribution datasets --------------------------------------------------------------
set.seed(20240504)
baselines <- list(
  continuous = rnorm(200, mean = 45, sd = 17),
  odi_points = 2 * round(runif(120, min = 5, max = 40)),
  small = c(2, 4, 4, 4, 5, 5, 7, 9)
)
dist_inputs <- do.call(rbind, lapply(names(baselines), function(name) {
  data.frame(dataset = name, baseline = num(baselines[[name]]))
}))
dist_ref <- do.call(rbind, lapply(names(baselines), function(name) {
  data.frame(dataset = name, n = length(baselines[[name]]), sd = num(sd(baselines[[name]])),
             r_version = r_version)
}))
write.csv(dist_inputs, file.path(out_dir, "distribution_inputs.csv"), row.names = FALSE,
          quote = FALSE)
write.csv(dist_ref, file.path(out_dir, "distribution_ref.csv"), row.names = FALSE, quote = FALSE)

cat(sprintf("R %s, pROC %s; tied_j_unequal uses seed %d; wrote CSVs to %s\n",
            r_version, proc_version, tied_seed, out_dir))
