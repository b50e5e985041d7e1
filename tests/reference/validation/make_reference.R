# Reference values for prom/validation resampling, computed with R, rms and metafor.
#
# Run from anywhere (reads the inputs and writes the outputs next to this script):
#     Rscript tests/reference/validation/make_reference.R
# Needs (Debian): apt-get install r-base-core r-cran-rms r-cran-metafor
# The inputs come from make_inputs.py (seeded NumPy); the tests read the CSVs written
# here and never need R.
#
# Reads
#   optimism_inputs.csv   x1, x2, x3, x4, y
#   meta_inputs.csv       set, yi, sei
# Writes
#   boot_indices.csv      replicate, row: the 1-based rows of each bootstrap sample that
#                         rms::validate drew (B = 40, set.seed(2026)), regenerated here
#                         with the same RNG calls (predab.resample's
#                         sample(1:n, n, replace = TRUE)) and checked against validate's
#                         own result by redoing its arithmetic with these indices
#   validate_ref.csv      index, orig, training, test, optimism, corrected, n:
#                         rms::validate(lrm(y ~ x1 + x2 + x3 + x4), method = "boot",
#                         B = 40) rows Dxy, Intercept, Slope, B (Brier)
#   meta_ref.csv          set, estimate, se, low, high, tau2, q, i2, pi_low, pi_high, k:
#                         metafor::rma(yi, sei = sei, method = "DL"); pi_low/pi_high are
#                         est -/+ qt(0.975, k - 2) * sqrt(tau2 + se^2) computed here from
#                         rma's est, se and tau2 (metafor 3.8's predict() uses z)
#   versions.csv          R and package versions
#
# Every number is written with 17 significant digits.

suppressPackageStartupMessages({
  library(rms)
  library(metafor)
})

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
dir <- if (length(script) == 1) dirname(normalizePath(script)) else getwd()
num <- function(x) sprintf("%.17g", x)
out <- function(df, name) write.csv(df, file.path(dir, name), row.names = FALSE, quote = FALSE)

# ---- rms::validate with known bootstrap indices ------------------------------------------
d <- read.csv(file.path(dir, "optimism_inputs.csv"))
n <- nrow(d); B <- 40; seed <- 2026
fit <- lrm(y ~ x1 + x2 + x3 + x4, data = d, x = TRUE, y = TRUE, tol = 1e-14)
set.seed(seed)
idx <- lapply(seq_len(B), function(i) sample(1:n, n, replace = TRUE))
set.seed(seed)
v <- validate(fit, method = "boot", B = B)

# redo validate's arithmetic with idx: identical numbers prove the indices are validate's
stats <- function(lp, y) {
  cal <- coef(glm(y ~ lp, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100)))
  c(Dxy = somers2(lp, y)[["Dxy"]], Intercept = cal[[1]], Slope = cal[[2]],
    B = mean((plogis(lp) - y)^2))
}
X <- as.matrix(d[, c("x1", "x2", "x3", "x4")])
opt <- sapply(idx, function(j) {
  f <- lrm.fit(X[j, ], d$y[j], tol = 1e-14)
  lp_train <- f$linear.predictors
  lp_test <- drop(cbind(1, X) %*% coef(f))
  tr <- stats(lp_train, d$y[j]); tr[["Intercept"]] <- 0; tr[["Slope"]] <- 1
  tr - stats(lp_test, d$y)
})
mine <- rowMeans(opt)
theirs <- v[c("Dxy", "Intercept", "Slope", "B"), "optimism"]
if (max(abs(mine - theirs)) > 1e-6) stop("indices do not reproduce validate(): ",
                                         paste(mine - theirs, collapse = " "))
rows <- c("Dxy", "Intercept", "Slope", "B")
out(data.frame(index = rows, orig = num(v[rows, "index.orig"]), training = num(v[rows, "training"]),
               test = num(v[rows, "test"]), optimism = num(v[rows, "optimism"]),
               corrected = num(v[rows, "index.corrected"]), n = v[rows, "n"]),
    "validate_ref.csv")
out(data.frame(replicate = rep(seq_len(B), each = n), row = unlist(idx)), "boot_indices.csv")

# ---- DerSimonian-Laird random-effects meta-analysis ---------------------------------------
m <- read.csv(file.path(dir, "meta_inputs.csv"))
meta_rows <- list()
for (s in unique(m$set)) {
  dm <- m[m$set == s, ]
  r <- rma(yi = dm$yi, sei = dm$sei, method = "DL")
  k <- nrow(dm)
  half <- if (k >= 3) qt(0.975, k - 2) * sqrt(r$tau2 + r$se^2) else NA
  meta_rows[[length(meta_rows) + 1]] <- data.frame(
    set = s, estimate = num(r$b[1]), se = num(r$se), low = num(r$ci.lb), high = num(r$ci.ub),
    tau2 = num(r$tau2), q = num(r$QE), i2 = num(r$I2 / 100),
    pi_low = num(r$b[1] - half), pi_high = num(r$b[1] + half), k = k)
}
out(do.call(rbind, meta_rows), "meta_ref.csv")

out(data.frame(component = c("R", "rms", "Hmisc", "metafor"),
               version = c(paste(R.version$major, R.version$minor, sep = "."),
                           as.character(packageVersion("rms")),
                           as.character(packageVersion("Hmisc")),
                           as.character(packageVersion("metafor")))),
    "versions.csv")
