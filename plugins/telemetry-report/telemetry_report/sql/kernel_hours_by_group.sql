-- Kernel-hours (cost) by user group (--user-groups maps users or pseudonyms to groups).
SELECT coalesce(g.user_group, '(no group)') AS user_group,
       count(*) AS kernels,
       round(sum(k.hours), 2) AS kernel_hours,
       count(DISTINCT k."user") AS users
FROM kernels k
LEFT JOIN user_groups g ON g."user" = k."user"
GROUP BY 1
ORDER BY kernel_hours DESC, user_group
