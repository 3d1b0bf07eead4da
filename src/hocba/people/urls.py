from django.urls import path

from hocba.people import views

urlpatterns = [
    path("schools/<str:code>/students/", views.students, name="people-students"),
    path("schools/<str:code>/students/new/", views.student_new, name="people-student-new"),
    path("schools/<str:code>/students/<int:pk>/", views.student, name="people-student"),
    path("schools/<str:code>/staff/", views.staff_list, name="people-staff-list"),
    path("schools/<str:code>/staff/new/", views.staff_new, name="people-staff-new"),
    path("schools/<str:code>/staff/<int:pk>/", views.staff, name="people-staff"),
    path("schools/<str:code>/accounts/", views.accounts, name="people-accounts"),
    path("schools/<str:code>/accounts/reset/", views.account_reset, name="people-account-reset"),
    path("kich-hoat/", views.activate, name="activate"),
]
