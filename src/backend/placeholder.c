/* SPDX-License-Identifier: MIT */
/* Keeps the backend library non-empty until its first real source lands; delete then. */
int vmp_backend_placeholder;
