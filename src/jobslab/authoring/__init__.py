"""Tools that keep the workbook's generated parts honest: the lesson index, learner copies."""
