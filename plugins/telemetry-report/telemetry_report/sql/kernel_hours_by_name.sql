-- Kernel-hours (cost) by kernel name.
SELECT coalesce(kernel_name, '(not recorded)') AS kernel_name,
       count(*) AS kernels,
       round(sum(hours), 2) AS kernel_hours,
       count(DISTINCT "user") AS users
FROM kernels
GROUP BY 1
ORDER BY kernel_hours DESC, kernel_name
